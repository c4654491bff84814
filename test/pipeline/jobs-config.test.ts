import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_QUEUE_OPTIONS, loadConfig } from "../../src/server/config";
import { jobIdForCall } from "../../src/server/store/calls";
import { REPO_ROOT, spawnTs } from "./jobs-support";

/** The queue section, as a worker reads it (DATABASE_URL and a key make the worker's configuration valid). */
const queueSection = (env: NodeJS.ProcessEnv) => loadConfig({ DATABASE_URL: "postgres://db/x", CALLSCRIBE_ENCRYPTION_KEY: "ab".repeat(32), ...env }, { role: "worker" }).queue;

describe("queue options and job ids", () => {
  it("reads queue tuning from the environment and names a bad variable", () => {
    expect(queueSection({})).toEqual(DEFAULT_QUEUE_OPTIONS);
    expect(queueSection({ CALLSCRIBE_JOB_RETRY_LIMIT: "3", CALLSCRIBE_QUEUE_POLL_SEC: "0.5", CALLSCRIBE_JOB_TIMEOUT_SEC: "" })).toMatchObject({
      retryLimit: 3,
      pollIntervalSec: 0.5,
      jobTimeoutSec: DEFAULT_QUEUE_OPTIONS.jobTimeoutSec,
    });
    for (const [name, value] of [["CALLSCRIBE_JOB_RETRY_LIMIT", "-1"], ["CALLSCRIBE_JOB_TIMEOUT_SEC", "soon"], ["CALLSCRIBE_QUEUE_POLL_SEC", "0.1"], ["CALLSCRIBE_WORKER_STALE_SEC", "15"], ["CALLSCRIBE_WORKER_HEARTBEAT_SEC", "0"]]) {
      let err: unknown;
      try {
        queueSection({ [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(name);
      expect((err as Error).message).toContain(name);
    }
  });

  it("derives one RFC 9562 v5 UUID per call id", () => {
    const id = jobIdForCall("call-42");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(jobIdForCall("call-42")).toBe(id);
    expect(jobIdForCall("call-43")).not.toBe(id);
    // RFC 9562 appendix A.4 test vector: v5 of "www.example.com" in the DNS namespace.
    expect(jobIdForCall("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
  });

  it("`npm run worker` refuses to start without DATABASE_URL, naming it", async () => {
    const w = spawnTs(join(REPO_ROOT, "src/server/pipeline/worker-main.ts"), { DATABASE_URL: "", CALLSCRIBE_ENCRYPTION_KEY: "ab".repeat(32), CALLSCRIBE_DATA_DIR: "/tmp/callscribe-worker-nodb" });
    expect(await w.exited).toBe(2);
    expect(w.stderr()).toMatch(/DATABASE_URL/);
  });
});
