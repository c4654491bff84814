/**
 * The one configuration reader (`src/server/config/`, issue 7 item 26): every variable in its
 * table refuses a bad value with a ConfigError that names it, each process reads only its role's
 * variables, rules across variables and roles are checked in `loadConfig`, and the entry points
 * (server, worker, CLI) stop with exit 2 and the message before the data dir or a database is
 * touched.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/eval/free-port";
import { ConfigError, loadConfig, prepareDataDir, VARIABLES, type Role, type VariableName } from "../../src/server/config";
import { defaultModelsDir } from "../../src/server/speech/engines/whisper/models";
import { REPO_ROOT, spawnTs } from "../pipeline/jobs-support";

const tmp = mkdtempSync(join(tmpdir(), "callscribe-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const aFile = join(tmp, "a-file");
writeFileSync(aFile, "not a folder");

const HEX_KEY = "ab".repeat(32);

/** One invalid value per variable. A variable added to the table without one here fails the first test. */
const INVALID: Record<VariableName, string> = {
  PORT: "70000",
  HOST: "not a host",
  CALLSCRIBE_API_KEY: "short",
  CALLSCRIBE_TOKEN_TTL_SECONDS: "5",
  CALLSCRIBE_ALLOWED_ORIGINS: "http://ok.example,http://bad.example/path",
  CALLSCRIBE_SERVER_NAMES: "bad name",
  CALLSCRIBE_HEADERS_TIMEOUT_SECONDS: "0",
  CALLSCRIBE_REQUEST_TIMEOUT_SECONDS: "2m",
  CALLSCRIBE_STATIC_DIR: "/definitely/not/here",
  CALLSCRIBE_LOG_LEVEL: "loud",
  CALLSCRIBE_AUDIOHOOK_API_KEY: "has space in it",
  CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET: "c2hvcnQ=",
  CALLSCRIBE_DEMO_PBX: "yes",
  CALLSCRIBE_CORPUS_DIR: aFile,
  CALLSCRIBE_MAX_LIVE_CHANNELS: "lots",
  CALLSCRIBE_TWILIO_AUTH_TOKEN: "short",
  CALLSCRIBE_PUBLIC_URL: "calls.example.com",
  CALLSCRIBE_MAX_AUDIO_SECONDS: "4h",
  CALLSCRIBE_MODELS_DIR: aFile,
  CALLSCRIBE_DEFAULT_MODEL: "no spaces please",
  DEEPGRAM_API_KEY: "has space in it",
  DEEPGRAM_BASE_URL: "ftp://x",
  CALLSCRIBE_WEBHOOK_SECRET: "whsec_short",
  CALLSCRIBE_ALLOWED_HOSTS: "recorder.example.com:99999",
  CALLSCRIBE_ALLOWED_ADDRESSES: "10.0.0.0/33",
  CALLSCRIBE_DATA_DIR: aFile,
  DATABASE_URL: "mysql://u:hunter2@db/x",
  CALLSCRIBE_ENCRYPTION_KEY: "abc",
  CALLSCRIBE_CRM_URL: "ftp://crm",
  CALLSCRIBE_AUDIO_RETENTION_DAYS: "-1",
  CALLSCRIBE_TRANSCRIPT_RETENTION_DAYS: "0",
  CALLSCRIBE_MAX_RECORDING_BYTES: "lots",
  CALLSCRIBE_DOWNLOAD_TIMEOUT_MS: "5",
  CALLSCRIBE_WORKERS: "0",
  CALLSCRIBE_QUEUE_ALERT_DEPTH: "0",
  CALLSCRIBE_JOB_RETRY_LIMIT: "-1",
  CALLSCRIBE_JOB_RETRY_DELAY_SEC: "soon",
  CALLSCRIBE_JOB_TIMEOUT_SEC: "1",
  CALLSCRIBE_QUEUE_POLL_SEC: "0.1",
  CALLSCRIBE_QUEUE_MAINTENANCE_SEC: "0",
  CALLSCRIBE_WORKER_HEARTBEAT_SEC: "0",
  CALLSCRIBE_WORKER_STALE_SEC: "15",
  CALLSCRIBE_TOPICS: " , ",
  LLM_BASE_URL: "127.0.0.1:8080",
  LLM_API_KEY: "has space",
  LLM_MODEL: "m".repeat(201),
};

const ROLES: Role[] = ["server", "worker", "cli"];
/** What each role reads (the table's sections), to know where a bad value must be refused. */
const ROLE_READS: Record<Role, string[]> = {
  server: ["server", "engine", "pipeline", "queue", "analysis"],
  worker: ["engine", "pipeline", "queue", "analysis"],
  cli: ["engine", "analysis"],
};
/** A valid base per role (a worker needs DATABASE_URL and a key), with a data dir that must stay untouched. */
const base = (role: Role): NodeJS.ProcessEnv => ({
  CALLSCRIBE_DATA_DIR: join(tmp, "never-created"),
  ...(role === "worker" && { DATABASE_URL: "postgres://db.example/x", CALLSCRIBE_ENCRYPTION_KEY: HEX_KEY }),
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("no ConfigError thrown");
}

describe("one reader for every variable", () => {
  it("has an invalid example for every variable in the table", () => {
    expect(Object.keys(INVALID).sort()).toEqual(Object.keys(VARIABLES).sort());
  });

  it.each(Object.keys(VARIABLES) as VariableName[])("%s: a bad value throws a ConfigError naming it, in every role that reads it", (name) => {
    const variable = VARIABLES[name];
    let refused = 0;
    for (const role of ROLES) {
      const env = { ...base(role), [name]: INVALID[name] };
      if (!variable.sections.some((s) => ROLE_READS[role].includes(s))) {
        // A process does not stop for a variable it does not use (the CLI and PORT).
        expect(() => loadConfig(env, { role })).not.toThrow();
        continue;
      }
      const err = configError(() => loadConfig(env, { role }));
      expect(err.variable).toBe(name);
      expect(err.message).toContain(`Invalid environment variable ${name}=`);
      if ("secret" in variable && variable.secret) expect(err.message).toContain("(hidden)");
      refused++;
    }
    expect(refused).toBeGreaterThan(0);
    expect(existsSync(join(tmp, "never-created"))).toBe(false);
  });

  it("never echoes a secret or a database password", () => {
    expect(configError(() => loadConfig({ DEEPGRAM_API_KEY: "has space in it" }, { role: "cli" })).message).not.toContain("has space");
    expect(configError(() => loadConfig({ CALLSCRIBE_WEBHOOK_SECRET: "whsec_!!secret-value!!" }, { role: "server" })).message).not.toContain("secret-value");
    expect(configError(() => loadConfig({ DATABASE_URL: "postgres://u:hunter2@ bad host/x" }, { role: "server" })).message).not.toContain("hunter2");
  });

  it("reads CALLSCRIBE_MAX_AUDIO_SECONDS once for the server and the pipeline", () => {
    const c = loadConfig({ CALLSCRIBE_MAX_AUDIO_SECONDS: "600" }, { role: "server" });
    expect(c.server.maxAudioSeconds).toBe(600);
    expect(c.pipeline.maxAudioSeconds).toBe(600);
  });

  it("CALLSCRIBE_MODELS_DIR is read by the config only (resolved against cwd); the engines' fallback is the repository's models/", () => {
    expect(loadConfig({ CALLSCRIBE_MODELS_DIR: "some/models" }, { role: "cli", cwd: tmp }).engine.modelsDir).toBe(resolve(tmp, "some/models"));
    expect(loadConfig({}, { role: "cli" }).engine.modelsDir).toBe(join(REPO_ROOT, "models"));
    const before = process.env.CALLSCRIBE_MODELS_DIR;
    process.env.CALLSCRIBE_MODELS_DIR = tmp;
    try {
      expect(defaultModelsDir()).toBe(join(REPO_ROOT, "models"));
    } finally {
      if (before === undefined) delete process.env.CALLSCRIBE_MODELS_DIR;
      else process.env.CALLSCRIBE_MODELS_DIR = before;
    }
  });
});

describe("rules across variables and roles, all in loadConfig", () => {
  it.each([
    ["server", { CALLSCRIBE_CRM_URL: "https://crm.example.com/hook" }, "CALLSCRIBE_WEBHOOK_SECRET", /CRM deliveries \(CALLSCRIBE_CRM_URL\) are signed with it/],
    ["worker", { CALLSCRIBE_CRM_URL: "https://crm.example.com/hook" }, "CALLSCRIBE_WEBHOOK_SECRET", /signed with it/],
    ["worker", { DATABASE_URL: "" }, "DATABASE_URL", /`npm run worker` serves a PostgreSQL queue/],
    ["server", { DATABASE_URL: "postgres://db.example/x" }, "CALLSCRIBE_ENCRYPTION_KEY", /required when DATABASE_URL is set/],
    ["server", { LLM_BASE_URL: "http://127.0.0.1:8080/v1" }, "LLM_MODEL", /required when LLM_BASE_URL is set/],
    ["cli", { LLM_BASE_URL: "http://127.0.0.1:8080/v1" }, "LLM_MODEL", /required when LLM_BASE_URL is set/],
    ["worker", { CALLSCRIBE_WORKER_HEARTBEAT_SEC: "30" }, "CALLSCRIBE_WORKER_HEARTBEAT_SEC", /must be more than twice/],
    ["server", { CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET: Buffer.alloc(32, 7).toString("base64") }, "CALLSCRIBE_AUDIOHOOK_API_KEY", /set both \(or neither\)/],
  ] as const)("%s with %j: ConfigError naming %s", (role, env, variable, message) => {
    const err = configError(() => loadConfig({ ...base(role), ...env }, { role }));
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(message);
    expect(existsSync(join(tmp, "never-created"))).toBe(false);
  });

  it("the AudioHook key and secret reach the server config (the secret decoded)", () => {
    const secret = Buffer.alloc(32, 9);
    const c = loadConfig({ ...base("server"), CALLSCRIBE_AUDIOHOOK_API_KEY: "ah-key-123456", CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET: secret.toString("base64") }, { role: "server" });
    expect(c.server.audiohook?.apiKey).toBe("ah-key-123456");
    expect(c.server.audiohook?.clientSecret?.equals(secret)).toBe(true);
    expect(loadConfig(base("server"), { role: "server" }).server.audiohook).toBeUndefined();
  });

  it("the demo PBX is on with the pages unless CALLSCRIBE_DEMO_PBX says otherwise; its corpus folder resolves", () => {
    const server = (env: NodeJS.ProcessEnv) => loadConfig({ ...base("server"), ...env }, { role: "server", cwd: tmp }).server;
    expect(server({}).demoPbx.enabled).toBe(false);
    expect(server({ CALLSCRIBE_STATIC_DIR: tmp }).demoPbx.enabled).toBe(true);
    expect(server({ CALLSCRIBE_STATIC_DIR: tmp, CALLSCRIBE_DEMO_PBX: "off" }).demoPbx.enabled).toBe(false);
    expect(server({ CALLSCRIBE_DEMO_PBX: "on" }).demoPbx.enabled).toBe(true);
    expect(server({ CALLSCRIBE_CORPUS_DIR: "corpus-here" }).demoPbx.corpusDir).toBe(join(tmp, "corpus-here"));
    expect(server({}).demoPbx.corpusDir).toBe(resolve(REPO_ROOT, "..", "shared", "corpus"));
  });

  it("creates nothing on disk; the boot step makes the data dir and the key, naming the path on failure", () => {
    const dataDir = join(tmp, "boot", "data");
    const settings = loadConfig({ CALLSCRIBE_DATA_DIR: dataDir }, { role: "server" }).pipeline;
    expect(existsSync(dataDir)).toBe(false);
    const booted = prepareDataDir(settings, { warn: () => undefined });
    expect(booted.encryptionKeySource).toBe("data-dir");
    expect(existsSync(join(dataDir, "encryption.key"))).toBe(true);
    // A data dir under a file cannot be created: the error names the variable and the path.
    const blocked = join(aFile, "data");
    const err = configError(() => prepareDataDir(loadConfig({ CALLSCRIBE_DATA_DIR: blocked }, { role: "server" }).pipeline, { warn: () => undefined }));
    expect(err.variable).toBe("CALLSCRIBE_DATA_DIR");
    expect(err.message).toContain(blocked);
  });
});

/** Every configuration variable emptied (= unset), so the runner's environment cannot interfere. */
const CLEAN = Object.fromEntries(Object.keys(VARIABLES).map((name) => [name, ""]));

describe("entry points stop at boot with exit 2 and the message", () => {
  it("the server: CALLSCRIBE_CRM_URL without CALLSCRIBE_WEBHOOK_SECRET, before the data dir or the database exists", async () => {
    const dataDir = join(tmp, "server-data");
    const p = spawnTs(join(REPO_ROOT, "src/server/main.ts"), { ...CLEAN, PORT: String(await freePort()), CALLSCRIBE_DATA_DIR: dataDir, CALLSCRIBE_CRM_URL: "https://crm.example.com/hook" });
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain("Missing environment variable CALLSCRIBE_WEBHOOK_SECRET: CRM deliveries (CALLSCRIBE_CRM_URL) are signed with it.");
    // Neither the PGlite files nor a generated key: nothing was started.
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it("the worker: without DATABASE_URL it writes no key into the data dir", async () => {
    const dataDir = join(tmp, "worker-data");
    const p = spawnTs(join(REPO_ROOT, "src/server/pipeline/worker-main.ts"), { ...CLEAN, CALLSCRIBE_DATA_DIR: dataDir });
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain("Missing environment variable DATABASE_URL");
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it("the worker: CALLSCRIBE_CRM_URL without a secret stops it before it connects to PostgreSQL", async () => {
    // Nothing listens on this port: connecting first would fail differently (exit 1, a connection error).
    const url = `postgres://u:pw@127.0.0.1:${await freePort()}/x`;
    const p = spawnTs(join(REPO_ROOT, "src/server/pipeline/worker-main.ts"), { ...CLEAN, DATABASE_URL: url, CALLSCRIBE_ENCRYPTION_KEY: HEX_KEY, CALLSCRIBE_CRM_URL: "https://crm.example.com/hook" });
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain("Missing environment variable CALLSCRIBE_WEBHOOK_SECRET");
    expect(p.lines.some((l) => l.msg === "speech engine")).toBe(false);
  }, 60_000);

  it("the CLI: LLM_BASE_URL without LLM_MODEL, before any file is read", () => {
    const cli = spawnSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "src/cli/transcribe.ts"), join(tmp, "missing.wav")], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...CLEAN, LLM_BASE_URL: "http://127.0.0.1:8080/v1" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain("Missing environment variable LLM_MODEL: it is required when LLM_BASE_URL is set");
    // The engine was never built, nor the file looked for.
    expect(cli.stderr).not.toMatch(/missing\.wav|engine /);
  }, 60_000);
});
