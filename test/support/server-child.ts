/**
 * A server program (a `.ts` file run with `node --import tsx`) in a child process, started and
 * waited for until its `GET /healthz` says `ready`: the common part of the abuse tests' server
 * children (`speech-server-process.ts`, `library-server-process.ts`), which read their own VmRSS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "../../src/eval/free-port";

/** A started server child. */
export interface ServerChild {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Stop the child (SIGTERM, then SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/**
 * Spawn `program` with `PORT` set to a free port and wait until `/healthz` answers `status: "ready"`.
 * @param name the server's name in errors, e.g. "speech server process"
 * @param nodeArgs node flags before `--import tsx`, e.g. `["--expose-gc"]`
 * @throws Error when the child exits or is not ready within 60 s (it is killed then)
 */
export async function startServerChild(program: string, env: Record<string, string>, name: string, nodeArgs: string[] = []): Promise<ServerChild> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", program], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      if (((await (await fetch(`${baseUrl}/healthz`)).json()) as { status: string }).status === "ready") break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`${name} not ready within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid!,
    port,
    baseUrl,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
