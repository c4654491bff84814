import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_TOPICS, defaultWorkers, GENERATED_KEY_FILE, loadConfig, prepareDataDir, type PrepareDataDirOptions } from "../../src/server/config";

/** The pipeline's configuration as the server boots it: read (all errors), then the data-dir step. */
const bootPipeline = (env: NodeJS.ProcessEnv, options?: PrepareDataDirOptions) => prepareDataDir(loadConfig(env, { role: "server" }).pipeline, options);

const secret = () => `whsec_${randomBytes(32).toString("base64")}`;
const hexKey = randomBytes(32).toString("hex");
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "callscribe-config-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Load with a bad env and return the ConfigError (fails the test if none is thrown). */
function configError(env: Record<string, string>): ConfigError {
  try {
    bootPipeline({ CALLSCRIBE_ENCRYPTION_KEY: hexKey, ...env }, { warn: () => undefined });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

describe("pipeline configuration (loadConfig + prepareDataDir)", () => {
  it("applies the defaults and reads the lists", () => {
    const dataDir = tempDir();
    const s = secret();
    const c = bootPipeline(
      { CALLSCRIBE_WEBHOOK_SECRET: s, CALLSCRIBE_ALLOWED_HOSTS: " Recorder.example.com, 127.0.0.1:8080 ,", CALLSCRIBE_DATA_DIR: dataDir, CALLSCRIBE_ENCRYPTION_KEY: hexKey },
      { warn: () => undefined },
    );
    expect(c.webhookSecret).toBe(s);
    expect(c.allowedHosts).toEqual(["recorder.example.com", "127.0.0.1:8080"]);
    expect(c.dataDir).toBe(dataDir);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.encryptionKey.equals(Buffer.from(hexKey, "hex"))).toBe(true);
    expect(c.encryptionKeySource).toBe("env");
    expect(c.audioRetentionDays).toBe(30);
    expect(c.topics).toEqual(DEFAULT_TOPICS);
    expect(c.maxRecordingBytes).toBe(200 * 1024 * 1024);
    expect(c.workers).toBe(defaultWorkers());
    expect(c.queueAlertDepth).toBe(500);
    expect(c.allowedAddresses).toEqual([]);
    expect(c.llm).toBeUndefined();
  });

  it("takes a base64 key, numbers, topics and an LLM endpoint", () => {
    const key = randomBytes(32);
    const c = bootPipeline({
      CALLSCRIBE_ENCRYPTION_KEY: key.toString("base64"),
      DATABASE_URL: "postgres://cs:pw@127.0.0.1:5433/callscribe",
      CALLSCRIBE_WORKERS: "4",
      CALLSCRIBE_ALLOWED_ADDRESSES: "10.0.0.0/8, fd00::1",
      CALLSCRIBE_QUEUE_ALERT_DEPTH: "50",
      CALLSCRIBE_AUDIO_RETENTION_DAYS: "7",
      CALLSCRIBE_TOPICS: "Renewal, Cancellation ,Renewal",
      LLM_BASE_URL: "http://127.0.0.1:8080/v1",
      LLM_MODEL: "qwen2.5",
      CALLSCRIBE_CRM_URL: "https://crm.example.com/hooks/calls",
      CALLSCRIBE_WEBHOOK_SECRET: secret(),
    });
    expect(c.encryptionKey.equals(key)).toBe(true);
    expect(c.databaseUrl).toBe("postgres://cs:pw@127.0.0.1:5433/callscribe");
    expect(c.workers).toBe(4);
    expect(c.allowedAddresses).toEqual(["10.0.0.0/8", "fd00::1"]);
    expect(c.queueAlertDepth).toBe(50);
    expect(c.audioRetentionDays).toBe(7);
    expect(c.topics).toEqual(["Renewal", "Cancellation"]);
    expect(c.llm).toEqual({ baseUrl: "http://127.0.0.1:8080/v1", model: "qwen2.5" });
    expect(c.crmUrl).toBe("https://crm.example.com/hooks/calls");
  });

  it("embedded dev mode generates a 0600 key once, warns, and reuses it", () => {
    const dataDir = join(tempDir(), "nested");
    const warnings: string[] = [];
    const first = bootPipeline({ CALLSCRIBE_DATA_DIR: dataDir }, { warn: (m) => warnings.push(m) });
    const file = join(dataDir, GENERATED_KEY_FILE);
    expect(first.encryptionKeySource).toBe("data-dir");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim()).toBe(first.encryptionKey.toString("hex"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("CALLSCRIBE_ENCRYPTION_KEY");
    const second = bootPipeline({ CALLSCRIBE_DATA_DIR: dataDir }, { warn: (m) => warnings.push(m) });
    expect(second.encryptionKey.equals(first.encryptionKey)).toBe(true);
    expect(warnings).toHaveLength(1);
  });

  it.each([
    [{ CALLSCRIBE_WEBHOOK_SECRET: "not-a-secret" }, "CALLSCRIBE_WEBHOOK_SECRET"],
    [{ CALLSCRIBE_WEBHOOK_SECRET: `whsec_${randomBytes(8).toString("base64")}` }, "CALLSCRIBE_WEBHOOK_SECRET"],
    [{ CALLSCRIBE_ALLOWED_HOSTS: "http://recorder.example.com/" }, "CALLSCRIBE_ALLOWED_HOSTS"],
    [{ CALLSCRIBE_ALLOWED_HOSTS: "recorder.example.com:99999" }, "CALLSCRIBE_ALLOWED_HOSTS"],
    [{ DATABASE_URL: "mysql://db/x" }, "DATABASE_URL"],
    [{ CALLSCRIBE_ENCRYPTION_KEY: "abc" }, "CALLSCRIBE_ENCRYPTION_KEY"],
    [{ CALLSCRIBE_CRM_URL: "ftp://crm" }, "CALLSCRIBE_CRM_URL"],
    [{ CALLSCRIBE_AUDIO_RETENTION_DAYS: "-1" }, "CALLSCRIBE_AUDIO_RETENTION_DAYS"],
    [{ CALLSCRIBE_MAX_RECORDING_BYTES: "lots" }, "CALLSCRIBE_MAX_RECORDING_BYTES"],
    [{ CALLSCRIBE_DOWNLOAD_TIMEOUT_MS: "5" }, "CALLSCRIBE_DOWNLOAD_TIMEOUT_MS"],
    [{ CALLSCRIBE_WORKERS: "0" }, "CALLSCRIBE_WORKERS"],
    [{ CALLSCRIBE_ALLOWED_ADDRESSES: "10.0.0.0/33" }, "CALLSCRIBE_ALLOWED_ADDRESSES"],
    [{ CALLSCRIBE_ALLOWED_ADDRESSES: "intranet.example.com" }, "CALLSCRIBE_ALLOWED_ADDRESSES"],
    [{ CALLSCRIBE_QUEUE_ALERT_DEPTH: "0" }, "CALLSCRIBE_QUEUE_ALERT_DEPTH"],
    [{ CALLSCRIBE_TOPICS: " , " }, "CALLSCRIBE_TOPICS"],
    [{ LLM_BASE_URL: "127.0.0.1:8080" }, "LLM_BASE_URL"],
    [{ LLM_BASE_URL: "http://127.0.0.1:8080/v1" }, "LLM_MODEL"],
  ])("names the variable in the error: %j", (env, variable) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(variable);
  });

  it("requires the encryption key with DATABASE_URL and never echoes secrets", () => {
    let err: unknown;
    try {
      bootPipeline({ DATABASE_URL: "postgres://u:hunter2@db:5432/x" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe("CALLSCRIBE_ENCRYPTION_KEY");
    const bad = configError({ CALLSCRIBE_WEBHOOK_SECRET: "whsec_!!secret-value!!" });
    expect(bad.message).not.toContain("secret-value");
    const badUrl = configError({ DATABASE_URL: "postgres://u:hunter2@ bad host/x" });
    expect(badUrl.variable).toBe("DATABASE_URL");
    expect(badUrl.message).not.toContain("hunter2");
  });
});
