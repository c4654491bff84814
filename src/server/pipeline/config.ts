/**
 * Configuration of the recorded-call pipeline (issue 4, DESIGN §6 and §9), from the environment,
 * validated at boot with ajv. Every error is a {@link ConfigError} that names the variable.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | CALLSCRIBE_WEBHOOK_SECRET | Standard Webhooks secret, `whsec_` + base64 of 24–64 bytes | unset: the webhook route answers 503 |
 * | CALLSCRIBE_ALLOWED_HOSTS | hosts recordings may be downloaded from: `host` or `host:port`, comma-separated | unset: no downloads allowed |
 * | CALLSCRIBE_ALLOWED_ADDRESSES | internal addresses (IPs or CIDRs, comma-separated) that allowed host names may resolve to; loopback, private, link-local, unique-local, multicast and unspecified addresses are refused otherwise (an IP-literal entry in CALLSCRIBE_ALLOWED_HOSTS allows that address itself) | unset: none |
 * | CALLSCRIBE_DATA_DIR | folder for PGlite, recordings and the generated key | `.data` |
 * | DATABASE_URL | `postgres://` or `postgresql://` URL of a PostgreSQL server | unset: embedded PGlite in the data dir |
 * | CALLSCRIBE_ENCRYPTION_KEY | AES-256-GCM key: 32 bytes as base64 or 64 hex characters | embedded mode: generated into `<data dir>/encryption.key` (0600); required with DATABASE_URL |
 * | CALLSCRIBE_CRM_URL | http(s) URL of the generic JSON CRM connector | unset: no CRM delivery |
 * | CALLSCRIBE_AUDIO_RETENTION_DAYS | days to keep audio (0 = delete once done) | 30 |
 * | CALLSCRIBE_TOPICS | topic taxonomy, comma-separated | Sales Inquiry,Support Request,Complaint,Billing |
 * | LLM_BASE_URL, LLM_API_KEY, LLM_MODEL | optional OpenAI-compatible endpoint for summary and topic; LLM_MODEL is required with LLM_BASE_URL | unset: on-premise NLP |
 * | CALLSCRIBE_MAX_RECORDING_BYTES | largest recording to download, bytes | 209715200 (200 MiB) |
 * | CALLSCRIBE_DOWNLOAD_TIMEOUT_MS | time limit of one download, ms | 120000 |
 * | CALLSCRIBE_WORKERS | pipeline jobs run concurrently per process | the number of CPU cores (the speech engine's pool has one decoder per core) |
 * | CALLSCRIBE_QUEUE_ALERT_DEPTH | waiting jobs (queued or awaiting a retry) at which the queue counts as far behind: `callscribe_queue_behind` 1 in /metrics, `behind: true` in intake answers, a warning in the log | 500 |
 * | CALLSCRIBE_MAX_AUDIO_SECONDS | longest recording transcribed, seconds, 1–86400; longer fails the call at decode (no retries) | 14400 (4 h) |
 *
 * An empty variable counts as unset. Secrets (webhook secret, encryption key, LLM key) are never
 * echoed in errors.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import Ajv from "ajv";
import { ConfigError } from "../config";
import { dataDirFullError, isDiskFull } from "../store/disk-full";
import { parseAllowedAddresses } from "./stages/address-policy";
import { DEFAULT_MAX_AUDIO_SECONDS } from "../speech/audio/limits";

export { ConfigError };

/** Validated pipeline configuration. */
export interface PipelineConfig {
  /** Standard Webhooks secret (`whsec_…`), as given; undefined = intake disabled (503). */
  webhookSecret?: string;
  /** Allowed download hosts, lower-case, each `host` (any port) or `host:port`. Empty = none allowed. */
  allowedHosts: string[];
  /** Internal addresses (IPs or CIDRs) that allowed host names may resolve to. Empty = none. */
  allowedAddresses: string[];
  /** Absolute path of the data folder. */
  dataDir: string;
  /** PostgreSQL URL; undefined = embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** The 32-byte AES-256-GCM key. */
  encryptionKey: Buffer;
  /** Where the key came from: the environment, or the file generated/read in the data dir (embedded dev mode). */
  encryptionKeySource: "env" | "data-dir";
  /** Generic JSON CRM connector endpoint. */
  crmUrl?: string;
  /** Days to keep downloaded audio. */
  audioRetentionDays: number;
  /** Topic taxonomy, in the given order. */
  topics: string[];
  /** OpenAI-compatible endpoint for summary and topic; undefined = on-premise NLP. */
  llm?: { baseUrl: string; apiKey?: string; model: string };
  /** Largest recording to download, bytes. */
  maxRecordingBytes: number;
  /** Time limit of one download, ms. */
  downloadTimeoutMs: number;
  /** Concurrent pipeline jobs per process. */
  workers: number;
  /** Waiting jobs (created or retry) at which the queue counts as far behind. */
  queueAlertDepth: number;
  /** Longest recording transcribed, seconds (unset: {@link DEFAULT_MAX_AUDIO_SECONDS}). */
  maxAudioSeconds?: number;
}

/** Options of {@link loadPipelineConfig}. */
export interface LoadPipelineConfigOptions {
  /** Receives boot warnings (e.g. a generated encryption key). Default: `console.warn`. */
  warn?: (message: string) => void;
  /** Base for a relative CALLSCRIBE_DATA_DIR. Default: `process.cwd()`. */
  cwd?: string;
}

/** Name of the generated key file inside the data dir. */
export const GENERATED_KEY_FILE = "encryption.key";

/** Topic labels the analyze stage chooses from when `CALLSCRIBE_TOPICS` is unset. */
export const DEFAULT_TOPICS = ["Sales Inquiry", "Support Request", "Complaint", "Billing"];

const HOST = "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])";
const HOST_ENTRY = `${HOST}(?::[0-9]{1,5})?`;

const ENV_SCHEMA = {
  type: "object",
  properties: {
    CALLSCRIBE_WEBHOOK_SECRET: { type: "string", pattern: "^whsec_[A-Za-z0-9+/]+={0,2}$" },
    CALLSCRIBE_ALLOWED_HOSTS: { type: "string", pattern: `^\\s*${HOST_ENTRY}\\s*(,\\s*${HOST_ENTRY}\\s*)*,?\\s*$` },
    CALLSCRIBE_ALLOWED_ADDRESSES: { type: "string", pattern: "^[\\s0-9A-Fa-f:./,]*[0-9A-Fa-f][\\s0-9A-Fa-f:./,]*$" },
    CALLSCRIBE_DATA_DIR: { type: "string", minLength: 1 },
    DATABASE_URL: { type: "string", pattern: "^postgres(ql)?://\\S+$" },
    CALLSCRIBE_ENCRYPTION_KEY: { type: "string", pattern: "^(?:[0-9A-Fa-f]{64}|[A-Za-z0-9+/]{43}=)$" },
    CALLSCRIBE_CRM_URL: { type: "string", pattern: "^https?://\\S+$" },
    CALLSCRIBE_AUDIO_RETENTION_DAYS: { type: "integer", minimum: 0, maximum: 36500 },
    CALLSCRIBE_TOPICS: { type: "string", pattern: "[^,\\s]" },
    LLM_BASE_URL: { type: "string", pattern: "^https?://\\S+$" },
    LLM_API_KEY: { type: "string", minLength: 1, pattern: "^\\S+$" },
    LLM_MODEL: { type: "string", minLength: 1, maxLength: 200 },
    CALLSCRIBE_MAX_RECORDING_BYTES: { type: "integer", minimum: 1024, maximum: 10 * 1024 * 1024 * 1024 },
    CALLSCRIBE_MAX_AUDIO_SECONDS: { type: "integer", minimum: 1, maximum: 86_400 },
    CALLSCRIBE_DOWNLOAD_TIMEOUT_MS: { type: "integer", minimum: 100, maximum: 3_600_000 },
    CALLSCRIBE_WORKERS: { type: "integer", minimum: 1, maximum: 64 },
    CALLSCRIBE_QUEUE_ALERT_DEPTH: { type: "integer", minimum: 1, maximum: 10_000_000 },
  },
} as const;

type VarName = keyof typeof ENV_SCHEMA.properties;

const RULES: Record<VarName, string> = {
  CALLSCRIBE_WEBHOOK_SECRET: "`whsec_` followed by the base64 of a 24 to 64 byte secret (Standard Webhooks)",
  CALLSCRIBE_ALLOWED_HOSTS: "a comma-separated list of host names or host:port pairs, e.g. recorder.example.com,10.0.0.5:8080",
  CALLSCRIBE_ALLOWED_ADDRESSES: "a comma-separated list of IP addresses or CIDR ranges, e.g. 10.0.0.0/8,fd00::/8",
  CALLSCRIBE_DATA_DIR: "a folder path",
  DATABASE_URL: "a PostgreSQL URL, postgres://user:password@host:5432/database",
  CALLSCRIBE_ENCRYPTION_KEY: "32 bytes as base64 (44 characters) or as 64 hex characters",
  CALLSCRIBE_CRM_URL: "an http:// or https:// URL",
  CALLSCRIBE_AUDIO_RETENTION_DAYS: "a whole number of days from 0 to 36500",
  CALLSCRIBE_TOPICS: "a comma-separated list of topic names",
  LLM_BASE_URL: "an http:// or https:// URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1",
  LLM_API_KEY: "a key without spaces",
  LLM_MODEL: "a model name",
  CALLSCRIBE_MAX_RECORDING_BYTES: "a whole number of bytes from 1024 to 10737418240",
  CALLSCRIBE_MAX_AUDIO_SECONDS: "a whole number of seconds from 1 to 86400",
  CALLSCRIBE_DOWNLOAD_TIMEOUT_MS: "a whole number of milliseconds from 100 to 3600000",
  CALLSCRIBE_WORKERS: "a whole number from 1 to 64",
  CALLSCRIBE_QUEUE_ALERT_DEPTH: "a whole number of jobs from 1 to 10000000",
};

const SECRET_VARS = new Set<string>(["CALLSCRIBE_WEBHOOK_SECRET", "CALLSCRIBE_ENCRYPTION_KEY", "LLM_API_KEY"]);

let validateEnv: ReturnType<Ajv["compile"]> | undefined;

function fail(variable: string, value: unknown, rule: string): never {
  const shown = SECRET_VARS.has(variable) ? "(hidden)" : JSON.stringify(value);
  throw new ConfigError(variable, `Invalid environment variable ${variable}=${shown}: must be ${rule}.`);
}

function checkUrl(variable: string, value: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(variable, variable === "DATABASE_URL" ? redactUrl(value) : value, RULES[variable as VarName]);
  }
  if (!protocols.includes(url.protocol) || !url.hostname) fail(variable, variable === "DATABASE_URL" ? redactUrl(value) : value, RULES[variable as VarName]);
  return value;
}

/** A URL with its password replaced, for messages and logs. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return value.replace(/:[^:@/]*@/, ":***@");
  }
}

/** Decode a key given as 64 hex characters or base64 of 32 bytes. */
function decodeKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  const key = /^[0-9A-Fa-f]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  return key.length === 32 ? key : undefined;
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Environment values of `names` (empty = unset), coerced and validated against {@link ENV_SCHEMA}. */
function pickAndValidate(env: NodeJS.ProcessEnv, names: string[]): { picked: Record<string, unknown>; original: Record<string, unknown> } {
  const picked: Record<string, unknown> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== "") picked[name] = value;
  }
  const original = { ...picked };
  validateEnv ??= new Ajv({ coerceTypes: true, allErrors: false }).compile(ENV_SCHEMA);
  if (!validateEnv(picked)) {
    const err = validateEnv.errors![0];
    const variable = err.instancePath.replace(/^\//, "");
    const shownValue = variable === "DATABASE_URL" ? redactUrl(String(original[variable])) : original[variable];
    fail(variable, shownValue, RULES[variable as VarName] ?? err.message ?? "valid");
  }
  return { picked, original };
}

/** Topics and the optional LLM endpoint from validated values. */
function analysisSettings(picked: Record<string, unknown>): Pick<PipelineConfig, "topics" | "llm"> {
  let llm: PipelineConfig["llm"];
  if (picked.LLM_BASE_URL !== undefined) {
    const baseUrl = checkUrl("LLM_BASE_URL", String(picked.LLM_BASE_URL), ["http:", "https:"]);
    if (picked.LLM_MODEL === undefined) {
      throw new ConfigError("LLM_MODEL", "Missing environment variable LLM_MODEL: it is required when LLM_BASE_URL is set (the model name the endpoint serves).");
    }
    llm = { baseUrl, model: String(picked.LLM_MODEL), ...(picked.LLM_API_KEY !== undefined && { apiKey: String(picked.LLM_API_KEY) }) };
  }
  const topics = picked.CALLSCRIBE_TOPICS !== undefined ? [...new Set(splitList(String(picked.CALLSCRIBE_TOPICS)))] : [...DEFAULT_TOPICS];
  return { topics, ...(llm && { llm }) };
}

/**
 * Only the analysis settings (CALLSCRIBE_TOPICS, LLM_BASE_URL, LLM_API_KEY, LLM_MODEL), for the
 * batch CLI: no data dir, key or database is touched.
 * @throws ConfigError naming the variable
 */
export function loadAnalysisConfig(env: NodeJS.ProcessEnv = process.env): Pick<PipelineConfig, "topics" | "llm"> {
  const { picked } = pickAndValidate(env, ["CALLSCRIBE_TOPICS", "LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL"]);
  return analysisSettings(picked);
}

/**
 * Read and validate the pipeline configuration.
 *
 * Side effect, embedded dev mode only (no DATABASE_URL, no CALLSCRIBE_ENCRYPTION_KEY): creates the
 * data dir and reads `<dataDir>/encryption.key`, generating 32 random bytes (hex, mode 0600) when
 * it does not exist, and warns that the key should be set explicitly.
 * @param env the environment (default `process.env`)
 * @throws ConfigError naming the variable and what it must be (secrets are not echoed)
 */
export function loadPipelineConfig(env: NodeJS.ProcessEnv = process.env, options: LoadPipelineConfigOptions = {}): PipelineConfig {
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const { picked, original } = pickAndValidate(env, Object.keys(ENV_SCHEMA.properties));

  const webhookSecret = picked.CALLSCRIBE_WEBHOOK_SECRET as string | undefined;
  if (webhookSecret !== undefined) {
    const bytes = Buffer.from(webhookSecret.slice("whsec_".length), "base64").length;
    if (bytes < 24 || bytes > 64) fail("CALLSCRIBE_WEBHOOK_SECRET", webhookSecret, `${RULES.CALLSCRIBE_WEBHOOK_SECRET} (it decodes to ${bytes} bytes)`);
  }

  const allowedHosts = picked.CALLSCRIBE_ALLOWED_HOSTS ? splitList(String(picked.CALLSCRIBE_ALLOWED_HOSTS)).map((h) => h.toLowerCase()) : [];
  for (const h of allowedHosts) {
    const port = /:(\d+)$/.exec(h)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) fail("CALLSCRIBE_ALLOWED_HOSTS", original.CALLSCRIBE_ALLOWED_HOSTS, RULES.CALLSCRIBE_ALLOWED_HOSTS);
  }

  const allowedAddresses = picked.CALLSCRIBE_ALLOWED_ADDRESSES ? splitList(String(picked.CALLSCRIBE_ALLOWED_ADDRESSES)) : [];
  try {
    parseAllowedAddresses(allowedAddresses);
  } catch {
    fail("CALLSCRIBE_ALLOWED_ADDRESSES", original.CALLSCRIBE_ALLOWED_ADDRESSES, RULES.CALLSCRIBE_ALLOWED_ADDRESSES);
  }

  const dataDirRaw = (picked.CALLSCRIBE_DATA_DIR as string | undefined) ?? ".data";
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(options.cwd ?? process.cwd(), dataDirRaw);

  const databaseUrl = picked.DATABASE_URL !== undefined ? checkUrl("DATABASE_URL", String(picked.DATABASE_URL), ["postgres:", "postgresql:"]) : undefined;
  const crmUrl = picked.CALLSCRIBE_CRM_URL !== undefined ? checkUrl("CALLSCRIBE_CRM_URL", String(picked.CALLSCRIBE_CRM_URL), ["http:", "https:"]) : undefined;

  const { topics, llm } = analysisSettings(picked);

  let encryptionKey: Buffer;
  let encryptionKeySource: PipelineConfig["encryptionKeySource"];
  if (picked.CALLSCRIBE_ENCRYPTION_KEY !== undefined) {
    const key = decodeKey(String(picked.CALLSCRIBE_ENCRYPTION_KEY));
    if (!key) fail("CALLSCRIBE_ENCRYPTION_KEY", "", RULES.CALLSCRIBE_ENCRYPTION_KEY);
    encryptionKey = key;
    encryptionKeySource = "env";
  } else if (databaseUrl !== undefined) {
    throw new ConfigError(
      "CALLSCRIBE_ENCRYPTION_KEY",
      "Missing environment variable CALLSCRIBE_ENCRYPTION_KEY: it is required when DATABASE_URL is set, so that every worker uses the same key (32 bytes as base64 or 64 hex characters, e.g. `openssl rand -hex 32`).",
    );
  } else {
    encryptionKey = readOrCreateKeyFile(dataDir, warn);
    encryptionKeySource = "data-dir";
  }

  return {
    ...(webhookSecret !== undefined && { webhookSecret }),
    allowedHosts,
    allowedAddresses,
    dataDir,
    ...(databaseUrl !== undefined && { databaseUrl }),
    encryptionKey,
    encryptionKeySource,
    ...(crmUrl !== undefined && { crmUrl }),
    audioRetentionDays: (picked.CALLSCRIBE_AUDIO_RETENTION_DAYS as number | undefined) ?? 30,
    topics,
    ...(llm && { llm }),
    maxRecordingBytes: (picked.CALLSCRIBE_MAX_RECORDING_BYTES as number | undefined) ?? 200 * 1024 * 1024,
    maxAudioSeconds: (picked.CALLSCRIBE_MAX_AUDIO_SECONDS as number | undefined) ?? DEFAULT_MAX_AUDIO_SECONDS,
    downloadTimeoutMs: (picked.CALLSCRIBE_DOWNLOAD_TIMEOUT_MS as number | undefined) ?? 120_000,
    workers: (picked.CALLSCRIBE_WORKERS as number | undefined) ?? defaultWorkers(),
    queueAlertDepth: (picked.CALLSCRIBE_QUEUE_ALERT_DEPTH as number | undefined) ?? DEFAULT_QUEUE_ALERT_DEPTH,
  };
}

/** Waiting jobs at which the queue counts as far behind, when CALLSCRIBE_QUEUE_ALERT_DEPTH is unset. */
export const DEFAULT_QUEUE_ALERT_DEPTH = 500;

/**
 * Concurrent jobs when CALLSCRIBE_WORKERS is unset: one per CPU core, as many as the speech
 * engine's pool has decoders, so the engine (not the queue) bounds throughput. 1–64.
 */
export function defaultWorkers(): number {
  return Math.min(64, Math.max(1, availableParallelism()));
}

/** Embedded dev mode: the key in `<dataDir>/encryption.key`, created (0600) when missing. */
function readOrCreateKeyFile(dataDir: string, warn: (m: string) => void): Buffer {
  const file = join(dataDir, GENERATED_KEY_FILE);
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (e) {
    if (isDiskFull(e)) throw dataDirFullError(dataDir);
    throw new ConfigError("CALLSCRIBE_DATA_DIR", `Invalid environment variable CALLSCRIBE_DATA_DIR=${JSON.stringify(dataDir)}: cannot create the folder (${(e as Error).message}).`);
  }
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ConfigError("CALLSCRIBE_ENCRYPTION_KEY", `Cannot read the generated key ${file} (${(e as Error).message}); set CALLSCRIBE_ENCRYPTION_KEY instead.`);
    }
  }
  if (text !== undefined) {
    const key = decodeKey(text);
    if (!key) throw new ConfigError("CALLSCRIBE_ENCRYPTION_KEY", `The key file ${file} does not hold a 32-byte key (64 hex characters); fix it or set CALLSCRIBE_ENCRYPTION_KEY.`);
    return key;
  }
  const key = randomBytes(32);
  // `wx`: never overwrite a key another process wrote meanwhile (data encrypted under it would be lost).
  try {
    writeFileSync(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return readOrCreateKeyFile(dataDir, warn);
    if (isDiskFull(e)) throw dataDirFullError(dataDir);
    throw new ConfigError("CALLSCRIBE_DATA_DIR", `Cannot write the generated key to ${file} (${(e as Error).message}); set CALLSCRIBE_ENCRYPTION_KEY or fix CALLSCRIBE_DATA_DIR.`);
  }
  warn(
    `CALLSCRIBE_ENCRYPTION_KEY is not set: generated a key in ${file} (mode 0600). Back it up; recordings and transcripts cannot be read without it. Set CALLSCRIBE_ENCRYPTION_KEY in production.`,
  );
  return key;
}
