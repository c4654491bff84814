/**
 * A throw-away PostgreSQL 15 server (Debian's `postgresql-15`) for tests: `initdb` into a temp
 * dir, listening on 127.0.0.1 on a free port, trust authentication, fsync off (speed; the data is
 * thrown away). PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
 * user through `runuser`. `stop()` shuts it down and removes the dir.
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../src/eval/free-port";

const run = promisify(execFile);

/** Folder of the PostgreSQL binaries; override with `CALLSCRIBE_PG_BIN`. */
export const PG_BIN = process.env.CALLSCRIBE_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** A running test server. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** Create another empty database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Whether the PostgreSQL binaries are installed (they come from `scripts/install-system-deps.sh`). */
export function postgresInstalled(): boolean {
  return existsSync(join(PG_BIN, "initdb")) && existsSync(join(PG_BIN, "pg_ctl"));
}

/**
 * Start a server. @throws with the server log's tail when `initdb` or `pg_ctl start` fails
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  if (!postgresInstalled()) throw new Error(`PostgreSQL 15 binaries not found in ${PG_BIN}: run scripts/install-system-deps.sh (Debian package postgresql-15)`);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "callscribe-pg-"));
  const dataDir = join(dir, "data");
  if (asRoot) chownSync(dir, Number((await run("id", ["-u", "postgres"])).stdout.trim()), Number((await run("id", ["-g", "postgres"])).stdout.trim()));
  const pg = (bin: string, args: string[]) => (asRoot ? run("runuser", ["-u", "postgres", "--", join(PG_BIN, bin), ...args]) : run(join(PG_BIN, bin), args));
  const port = await freePort();
  try {
    await pg("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`;
    await pg("pg_ctl", ["-D", dataDir, "-l", join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"]);
  } catch (err) {
    let logTail = "";
    try {
      logTail = (await run("tail", ["-n", "20", join(dir, "server.log")])).stdout;
    } catch {
      /* no log yet */
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start PostgreSQL: ${(err as Error).message}\n${logTail}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      const { default: pgClient } = await import("pg");
      const c = new pgClient.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await pg("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
