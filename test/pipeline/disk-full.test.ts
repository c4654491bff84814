/**
 * Issue 7 item 16: a full disk is named and said, and loses nothing.
 * - A download that hits ENOSPC is a retryable failure whose reason says the disk is full (not
 *   "network error"): writes go to /dev/full through a symlink (any user).
 * - The server on a full data directory exits non-zero naming the folder and "no space left on
 *   device"; an accepted call whose download hit the full disk finishes once space is freed.
 *   These need a real full file system: a tiny tmpfs, which only root can mount (skipped, and
 *   reported as skipped, otherwise).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/eval/free-port";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { downloadRecording } from "../../src/server/pipeline/stages/download";
import { StageError } from "../../src/server/pipeline/stages/errors";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { readCorpus, RECORDINGS, REPO_ROOT, spawnTs, startRecordingServer, testConfig, waitFor } from "./jobs-support";

const work = mkdtempSync(join(tmpdir(), "callscribe-full-"));
const mounts: string[] = [];

/** Mount a tmpfs of `size` at a new folder and fill it up; returns the folder and a way to free it. */
function fullTmpfs(name: string, size: string): { dir: string; free: () => void } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  mounts.push(dir);
  const filler = join(dir, "filler");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; ; i++) writeFileSync(filler, chunk, { flag: i === 0 ? "w" : "a" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  }
  return { dir, free: () => rmSync(filler, { force: true }) };
}

const canMount = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    fullTmpfs("probe", "64k");
    return true;
  } catch {
    return false;
  }
})();

afterAll(() => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync("umount", [m]);
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
});

describe("a full disk", () => {
  it("a download that hits ENOSPC is retryable and says the disk is full, not 'network error'", async () => {
    const recordings = await startRecordingServer({ "call.wav": readCorpus(RECORDINGS.short.file) });
    try {
      const dest = join(work, "dl", "call.wav");
      mkdirSync(join(work, "dl"), { recursive: true });
      symlinkSync("/dev/full", `${dest}.part`); // every write there fails with ENOSPC
      const err = await downloadRecording(recordings.url("call.wav"), dest, { allowedHosts: [recordings.host], maxBytes: 50e6, timeoutMs: 10_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StageError);
      expect((err as StageError).retryable).toBe(true);
      expect((err as Error).message).toMatch(/disk is full \(no space left on device\)/);
      expect((err as Error).message).toContain(join(work, "dl"));
      expect((err as Error).message).not.toMatch(/network error/);
    } finally {
      await recordings.close();
    }
  });

  it.skipIf(!canMount)("the server on a full data directory exits non-zero, naming the folder and 'no space left on device'", async () => {
    const { dir } = fullTmpfs("boot", "1m");
    const dataDir = join(dir, "data");
    const server = spawnTs(join(REPO_ROOT, "src/server/main.ts"), {
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      CALLSCRIBE_DATA_DIR: dataDir,
      CALLSCRIBE_ENCRYPTION_KEY: "cd".repeat(32),
      DATABASE_URL: "",
      CALLSCRIBE_LOG_LEVEL: "error",
    });
    const code = await Promise.race([server.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 90_000))]);
    if (code === "still running") server.child.kill("SIGKILL");
    expect(code).not.toBe("still running");
    expect(code).not.toBe(0);
    expect(server.stderr()).toContain(dataDir);
    expect(server.stderr()).toMatch(/no space left on device/);
    expect(server.stderr()).not.toMatch(/ErrnoError/);
  }, 120_000);

  it.skipIf(!canMount)("an accepted call whose download hit the full disk finishes once space is freed", async () => {
    const dataDir = join(work, "pipeline");
    mkdirSync(dataDir, { recursive: true });
    const full = fullTmpfs("pipeline/recordings", "4m");
    const recordings = await startRecordingServer({ "call.wav": readCorpus(RECORDINGS.short.file) });
    const engine = createPocketSphinxEngine({ poolSize: 1 });
    let pipeline: Pipeline | undefined;
    try {
      pipeline = await startPipeline({
        config: testConfig({ dataDir, allowedHosts: [recordings.host] }),
        role: "server",
        workers: 1,
        engine,
        queueOptions: { retryLimit: 8, retryDelaySec: 1, pollIntervalSec: 0.5 },
      });
      const p = pipeline;
      await p.enqueueRecording({ call_id: "full-1", recording_url: recordings.url("call.wav") }, "msg_full_1");
      const failed = await waitFor(async () => {
        const c = await p.calls.getCall("full-1");
        return c?.stages.download.error ? c : undefined;
      }, 60_000, "the download to hit the full disk");
      expect(failed.stages.download.error).toMatch(/disk is full \(no space left on device\)/);
      expect(failed.status).not.toBe("failed");
      full.free();
      const done = await waitFor(async () => {
        const c = await p.calls.getCall("full-1");
        return c?.status === "done" || c?.status === "failed" ? c : undefined;
      }, 90_000, "the call to finish after space was freed");
      expect(done.reason).toBeUndefined();
      expect(done.status).toBe("done");
      expect(done.stages.download.attempts).toBeGreaterThanOrEqual(2);
    } finally {
      await pipeline?.stop();
      await engine.close();
      await recordings.close();
    }
  }, 240_000);
});
