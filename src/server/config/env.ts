/**
 * Every environment variable Callscribe reads, in one table ({@link VARIABLES}): its JSON Schema
 * (validated with ajv, coercing strings to numbers), the rule an error states, the config sections
 * that use it, and single-variable checks a schema cannot express (a URL that parses, a folder
 * that exists). Cross-variable and per-process rules are in `index.ts`.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | PORT | TCP port (0 = any free port) | 8787 |
 * | HOST | interface to listen on | 127.0.0.1 |
 * | CALLSCRIBE_API_KEY | when set, every route but `/healthz`, the pages and signed webhooks requires it (at least 8 characters, no spaces) | unset: no auth |
 * | CALLSCRIBE_TOKEN_TTL_SECONDS | lifetime of `listen` tokens from `POST /v1/auth/token`, 30..86400 | 600 |
 * | CALLSCRIBE_ALLOWED_ORIGINS | comma-separated origins (`http://host:port`) allowed besides the server's own | unset |
 * | CALLSCRIBE_SERVER_NAMES | comma-separated host names the server is served under besides IP literals, `localhost` and HOST (DNS-rebinding guard) | unset |
 * | CALLSCRIBE_HEADERS_TIMEOUT_SECONDS | longest wait for a request's headers, 1..600 | 15 |
 * | CALLSCRIBE_REQUEST_TIMEOUT_SECONDS | longest wait for a whole request (headers and body), 1..86400 | 120 |
 * | CALLSCRIBE_STATIC_DIR | built web pages (Vite `dist/`) to serve at `/`; must be a directory | unset |
 * | CALLSCRIBE_LOG_LEVEL | pino level: fatal, error, warn, info, debug, trace, silent | info |
 * | CALLSCRIBE_AUDIOHOOK_API_KEY | the API key Genesys Cloud AudioHook sends in `X-API-KEY` to `GET /v1/audiohook` (at least 8 characters, no spaces) | unset: the route answers 503 |
 * | CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET | the AudioHook integration's client secret, base64 of 16–512 bytes: the upgrade must carry an HTTP Message Signature made with it; needs CALLSCRIBE_AUDIOHOOK_API_KEY | unset: API key only |
 * | CALLSCRIBE_DEMO_PBX | `on` or `off`: the demo PBX, which streams a two-party corpus call over AudioHook into the server when the demo softphone connects a call (`telephony/demo-pbx/`) | on when CALLSCRIBE_STATIC_DIR is set (`npm start`), else off |
 * | CALLSCRIBE_CORPUS_DIR | the speech corpus (the demo PBX's call audio; tests and benchmarks read it too) | `../shared/corpus` beside the repository |
 * | CALLSCRIBE_MAX_LIVE_CHANNELS | live channels (decoders) admitted at once; more sessions get 503 + Retry-After | min(2 × cores, half the memory / 100 MB), see `speech/admission.ts` |
 * | CALLSCRIBE_TWILIO_AUTH_TOKEN | the Twilio account's auth token: turns on `GET /v1/twilio/media` (Media Streams), whose `X-Twilio-Signature` is checked with it (16–128 characters, no spaces) | unset: the route answers 503 |
 * | CALLSCRIBE_PUBLIC_URL | the `wss://host[:port][/prefix]` Twilio reaches the server under (behind a proxy): the URL a stream's signature is checked against is this + the request path; its host is served (as in CALLSCRIBE_SERVER_NAMES) | unset: the request's Host header, as wss:// or ws:// |
 * | CALLSCRIBE_MAX_AUDIO_SECONDS | longest audio `POST /v1/listen` and a recorded call may hold, seconds per channel, 1–86400; the transcribed channels together may hold twice that in channel-seconds (duration × channels; `speech/audio/limits.ts`); longer is refused with 413 (a recorded call fails at decode, no retries) | 14400 (4 h) |
 * | CALLSCRIBE_MODELS_DIR | folder of Whisper ggml models (`ggml-<name>.bin`, `for-tests-ggml-<name>.bin`) | `models/` in the repository |
 * | CALLSCRIBE_DEFAULT_MODEL | model used when a request names none, e.g. `pocketsphinx`, `whisper-base.en`, `nova-3` | Whisper with a real model, else PocketSphinx (see `speech/engines/registry.ts`) |
 * | DEEPGRAM_API_KEY | Deepgram key: enables the `nova-*` models (relayed) and `POST /v1/auth/grant`; never sent to browsers | unset: no Deepgram |
 * | DEEPGRAM_BASE_URL | Deepgram's API root (http/https; tests point it at a fake) | https://api.deepgram.com |
 * | CALLSCRIBE_WEBHOOK_SECRET | Standard Webhooks secret, `whsec_` + base64 of 24–64 bytes; required with CALLSCRIBE_CRM_URL | unset: the webhook route answers 503 |
 * | CALLSCRIBE_ALLOWED_HOSTS | hosts recordings may be downloaded from: `host` or `host:port`, comma-separated | unset: no downloads allowed |
 * | CALLSCRIBE_ALLOWED_ADDRESSES | internal addresses (IPs or CIDRs, comma-separated) that allowed host names may resolve to | unset: none |
 * | CALLSCRIBE_DATA_DIR | folder for PGlite, recordings and the generated key | `.data` |
 * | DATABASE_URL | `postgres://` or `postgresql://` URL of a PostgreSQL server; required by `npm run worker` | unset: embedded PGlite in the data dir |
 * | CALLSCRIBE_ENCRYPTION_KEY | AES-256-GCM key: 32 bytes as base64 or 64 hex characters | embedded mode: generated into `<data dir>/encryption.key` (0600); required with DATABASE_URL |
 * | CALLSCRIBE_CRM_URL | http(s) URL of the generic JSON CRM connector | unset: no CRM delivery |
 * | CALLSCRIBE_AUDIO_RETENTION_DAYS | days to keep audio (0 = delete once done) | 30 |
 * | CALLSCRIBE_TRANSCRIPT_RETENTION_DAYS | days to keep transcripts in the library (`library/`), counted from the call's start | unset: keep |
 * | CALLSCRIBE_MAX_RECORDING_BYTES | largest recording to download, bytes | 209715200 (200 MiB) |
 * | CALLSCRIBE_DOWNLOAD_TIMEOUT_MS | time limit of one download, ms | 120000 |
 * | CALLSCRIBE_WORKERS | pipeline jobs run concurrently per process | the number of CPU cores |
 * | CALLSCRIBE_QUEUE_ALERT_DEPTH | waiting jobs at which the queue counts as far behind | 500 |
 * | CALLSCRIBE_JOB_RETRY_LIMIT, CALLSCRIBE_JOB_RETRY_DELAY_SEC, CALLSCRIBE_JOB_TIMEOUT_SEC | job retries (exponential backoff with jitter) and timeout | 5, 15, 1800 |
 * | CALLSCRIBE_QUEUE_POLL_SEC, CALLSCRIBE_QUEUE_MAINTENANCE_SEC | idle poll and pg-boss maintenance intervals | 2, 30 |
 * | CALLSCRIBE_WORKER_HEARTBEAT_SEC, CALLSCRIBE_WORKER_STALE_SEC | liveness heartbeat, and silence after which a worker's jobs are retried (more than twice the heartbeat) | 10, 45 |
 * | CALLSCRIBE_TOPICS | topic taxonomy, comma-separated | Sales Inquiry,Support Request,Complaint,Billing |
 * | LLM_BASE_URL, LLM_API_KEY, LLM_MODEL | optional OpenAI-compatible endpoint for summary and topic; LLM_MODEL is required with LLM_BASE_URL | unset: on-premise NLP |
 *
 * An empty variable counts as unset. Secrets are never echoed in errors; DATABASE_URL's password
 * is redacted.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import Ajv from "ajv";
import { parseAllowedAddresses } from "../pipeline/stages/address-policy";
import { ConfigError } from "./error";

/** The parts of the configuration; a process reads the sections its role needs (`index.ts`). */
export type Section = "server" | "engine" | "pipeline" | "queue" | "analysis";

/** One environment variable. */
export interface Variable {
  /** JSON Schema of the value (a list: of each comma-separated entry). */
  schema: object;
  /** What a valid value is, as the error says it: "must be <rule>". */
  rule: string;
  /** The sections that use it. */
  sections: readonly Section[];
  /** Never echoed in errors. */
  secret?: boolean;
  /** Comma-separated: split, trimmed, empty entries dropped, each validated by `schema.items`. */
  list?: boolean;
  /**
   * Checks the schema cannot express, on the validated value (relative paths against `cwd`).
   * @returns the error's text after the value ("must be …", or what is wrong), or undefined when valid
   */
  check?: (value: unknown, cwd: string) => string | undefined;
}

const HOST = "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])";
const HOST_ENTRY = `${HOST}(?::[0-9]{1,5})?`;

const SECONDS = (min: number, max: number) => ({ type: "integer", minimum: min, maximum: max });

/** Splits a comma-separated value: trimmed entries, empty ones dropped. */
export function splitList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Decode a key given as 64 hex characters or base64 of 32 bytes; undefined when it is not 32 bytes. */
export function decodeKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  const key = /^[0-9A-Fa-f]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  return key.length === 32 ? key : undefined;
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

/** A check that the value parses as a URL with one of `protocols` and a host. */
function urlCheck(rule: string, protocols: string[]): (value: unknown) => string | undefined {
  return (value) => {
    try {
      const url = new URL(String(value));
      return protocols.includes(url.protocol) && url.hostname ? undefined : `must be ${rule}`;
    } catch {
      return `must be ${rule}`;
    }
  };
}

/** A check that a folder path, when something exists there, is a folder (it may be created later). */
function notAFile(value: unknown, cwd: string): string | undefined {
  const path = resolve(cwd, String(value));
  try {
    return statSync(path).isDirectory() ? undefined : `${path} exists and is not a folder`;
  } catch {
    return undefined;
  }
}

const RULE = {
  audiohookSecret: "the base64 of a 16 to 512 byte secret (the AudioHook integration's client secret)",
  webhookSecret: "`whsec_` followed by the base64 of a 24 to 64 byte secret (Standard Webhooks)",
  allowedHosts: "a comma-separated list of host names or host:port pairs, e.g. recorder.example.com,10.0.0.5:8080",
  allowedAddresses: "a comma-separated list of IP addresses or CIDR ranges, e.g. 10.0.0.0/8,fd00::/8",
  databaseUrl: "a PostgreSQL URL, postgres://user:password@host:5432/database",
  encryptionKey: "32 bytes as base64 (44 characters) or as 64 hex characters",
  crmUrl: "an http:// or https:// URL",
  llmBaseUrl: "an http:// or https:// URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1",
};

/** Every variable Callscribe reads. Add a new one here (and to README.md's table). */
export const VARIABLES = {
  // The speech server (HTTP, WebSocket).
  PORT: { schema: { type: "integer", minimum: 0, maximum: 65535 }, rule: "an integer port from 0 to 65535", sections: ["server"] },
  HOST: { schema: { type: "string", minLength: 1, maxLength: 253, pattern: "^[A-Za-z0-9.:\\-\\[\\]%]+$" }, rule: "a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0", sections: ["server"] },
  CALLSCRIBE_API_KEY: { schema: { type: "string", minLength: 8, maxLength: 512, pattern: "^\\S+$" }, rule: "at least 8 characters without spaces", sections: ["server"], secret: true },
  CALLSCRIBE_TOKEN_TTL_SECONDS: { schema: SECONDS(30, 86_400), rule: "an integer number of seconds from 30 to 86400", sections: ["server"] },
  CALLSCRIBE_ALLOWED_ORIGINS: {
    schema: { type: "array", items: { type: "string", pattern: "^https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:\\d{1,5})?$" } },
    rule: "comma-separated origins such as http://localhost:5173 (scheme, host, optional port; no path)",
    sections: ["server"],
    list: true,
  },
  CALLSCRIBE_SERVER_NAMES: {
    schema: { type: "array", items: { type: "string", pattern: "^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$" } },
    rule: "comma-separated host names such as callscribe.example.com",
    sections: ["server"],
    list: true,
  },
  CALLSCRIBE_HEADERS_TIMEOUT_SECONDS: { schema: SECONDS(1, 600), rule: "an integer number of seconds from 1 to 600", sections: ["server"] },
  CALLSCRIBE_REQUEST_TIMEOUT_SECONDS: { schema: SECONDS(1, 86_400), rule: "an integer number of seconds from 1 to 86400", sections: ["server"] },
  CALLSCRIBE_STATIC_DIR: {
    schema: { type: "string", minLength: 1 },
    rule: "a directory path",
    sections: ["server"],
    check: (value, cwd) => {
      const dir = resolve(cwd, String(value));
      try {
        if (statSync(dir).isDirectory()) return undefined;
      } catch {
        // not there: refused below
      }
      return `${dir} is not a directory (run \`npm run build\` to create dist/)`;
    },
  },
  CALLSCRIBE_LOG_LEVEL: { schema: { enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] }, rule: "one of fatal, error, warn, info, debug, trace, silent", sections: ["server"] },
  CALLSCRIBE_AUDIOHOOK_API_KEY: { schema: { type: "string", minLength: 8, maxLength: 512, pattern: "^\\S+$" }, rule: "at least 8 characters without spaces", sections: ["server"], secret: true },
  CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET: {
    schema: { type: "string", maxLength: 1024, pattern: "^[A-Za-z0-9+/]+={0,2}$" },
    rule: RULE.audiohookSecret,
    sections: ["server"],
    secret: true,
    check: (value) => {
      const bytes = Buffer.from(String(value), "base64").length;
      return bytes < 16 || bytes > 512 ? `must be ${RULE.audiohookSecret} (it decodes to ${bytes} bytes)` : undefined;
    },
  },
  CALLSCRIBE_DEMO_PBX: { schema: { enum: ["on", "off"] }, rule: "on or off", sections: ["server"] },
  CALLSCRIBE_CORPUS_DIR: { schema: { type: "string", minLength: 1 }, rule: "a folder path", sections: ["server"], check: notAFile },
  CALLSCRIBE_MAX_LIVE_CHANNELS: { schema: { type: "integer", minimum: 1, maximum: 10000 }, rule: "an integer from 1 to 10000", sections: ["server"] },
  // Telephony ingress (issue 8).
  CALLSCRIBE_TWILIO_AUTH_TOKEN: {
    schema: { type: "string", minLength: 16, maxLength: 128, pattern: "^\\S+$" },
    rule: "the Twilio account's auth token: 16 to 128 characters without spaces",
    sections: ["server"],
    secret: true,
  },
  CALLSCRIBE_PUBLIC_URL: {
    schema: { type: "string", maxLength: 2000, pattern: "^(wss?|https?)://[^\\s/?#]+(/[^\\s?#]*)?$" },
    rule: "the public ws(s):// URL of the server, e.g. wss://calls.example.com (optional path prefix; no query)",
    sections: ["server"],
    check: urlCheck("the public ws(s):// URL of the server, e.g. wss://calls.example.com (optional path prefix; no query)", ["ws:", "wss:", "http:", "https:"]),
  },
  // Both `POST /v1/listen` and the recorded-call pipeline.
  CALLSCRIBE_MAX_AUDIO_SECONDS: { schema: SECONDS(1, 86_400), rule: "a whole number of seconds from 1 to 86400", sections: ["server", "pipeline"] },
  // The speech engine, in every process.
  CALLSCRIBE_MODELS_DIR: { schema: { type: "string", minLength: 1 }, rule: "a directory path", sections: ["engine"], check: notAFile },
  CALLSCRIBE_DEFAULT_MODEL: {
    schema: { type: "string", minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$" },
    rule: "a model name such as pocketsphinx, whisper-base.en or nova-3",
    sections: ["engine"],
  },
  DEEPGRAM_API_KEY: { schema: { type: "string", minLength: 8, maxLength: 512, pattern: "^\\S+$" }, rule: "at least 8 characters without spaces", sections: ["engine"], secret: true },
  DEEPGRAM_BASE_URL: {
    schema: { type: "string", minLength: 1, maxLength: 2000, pattern: "^https?://[^\\s/?#]+(/[^\\s?#]*)?$" },
    rule: "an http(s) URL without query, e.g. https://api.deepgram.com",
    sections: ["engine"],
  },
  // The recorded-call pipeline.
  CALLSCRIBE_WEBHOOK_SECRET: {
    schema: { type: "string", pattern: "^whsec_[A-Za-z0-9+/]+={0,2}$" },
    rule: RULE.webhookSecret,
    sections: ["pipeline"],
    secret: true,
    check: (value) => {
      const bytes = Buffer.from(String(value).slice("whsec_".length), "base64").length;
      return bytes < 24 || bytes > 64 ? `must be ${RULE.webhookSecret} (it decodes to ${bytes} bytes)` : undefined;
    },
  },
  CALLSCRIBE_ALLOWED_HOSTS: {
    schema: { type: "string", pattern: `^\\s*${HOST_ENTRY}\\s*(,\\s*${HOST_ENTRY}\\s*)*,?\\s*$` },
    rule: RULE.allowedHosts,
    sections: ["pipeline"],
    check: (value) => {
      for (const h of splitList(String(value))) {
        const port = /:(\d+)$/.exec(h)?.[1];
        if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `must be ${RULE.allowedHosts}`;
      }
      return undefined;
    },
  },
  CALLSCRIBE_ALLOWED_ADDRESSES: {
    schema: { type: "string", pattern: "^[\\s0-9A-Fa-f:./,]*[0-9A-Fa-f][\\s0-9A-Fa-f:./,]*$" },
    rule: RULE.allowedAddresses,
    sections: ["pipeline"],
    check: (value) => {
      try {
        parseAllowedAddresses(splitList(String(value)));
        return undefined;
      } catch {
        return `must be ${RULE.allowedAddresses}`;
      }
    },
  },
  CALLSCRIBE_DATA_DIR: { schema: { type: "string", minLength: 1 }, rule: "a folder path", sections: ["pipeline"], check: notAFile },
  DATABASE_URL: { schema: { type: "string", pattern: "^postgres(ql)?://\\S+$" }, rule: RULE.databaseUrl, sections: ["pipeline"], check: urlCheck(RULE.databaseUrl, ["postgres:", "postgresql:"]) },
  CALLSCRIBE_ENCRYPTION_KEY: {
    schema: { type: "string", pattern: "^(?:[0-9A-Fa-f]{64}|[A-Za-z0-9+/]{43}=)$" },
    rule: RULE.encryptionKey,
    sections: ["pipeline"],
    secret: true,
    check: (value) => (decodeKey(String(value)) ? undefined : `must be ${RULE.encryptionKey}`),
  },
  CALLSCRIBE_CRM_URL: { schema: { type: "string", pattern: "^https?://\\S+$" }, rule: RULE.crmUrl, sections: ["pipeline"], check: urlCheck(RULE.crmUrl, ["http:", "https:"]) },
  CALLSCRIBE_AUDIO_RETENTION_DAYS: { schema: { type: "integer", minimum: 0, maximum: 36500 }, rule: "a whole number of days from 0 to 36500", sections: ["pipeline"] },
  CALLSCRIBE_TRANSCRIPT_RETENTION_DAYS: { schema: { type: "integer", minimum: 1, maximum: 36500 }, rule: "a whole number of days from 1 to 36500", sections: ["pipeline"] },
  CALLSCRIBE_MAX_RECORDING_BYTES: { schema: { type: "integer", minimum: 1024, maximum: 10 * 1024 * 1024 * 1024 }, rule: "a whole number of bytes from 1024 to 10737418240", sections: ["pipeline"] },
  CALLSCRIBE_DOWNLOAD_TIMEOUT_MS: { schema: { type: "integer", minimum: 100, maximum: 3_600_000 }, rule: "a whole number of milliseconds from 100 to 3600000", sections: ["pipeline"] },
  CALLSCRIBE_WORKERS: { schema: { type: "integer", minimum: 1, maximum: 64 }, rule: "a whole number from 1 to 64", sections: ["pipeline"] },
  CALLSCRIBE_QUEUE_ALERT_DEPTH: { schema: { type: "integer", minimum: 1, maximum: 10_000_000 }, rule: "a whole number of jobs from 1 to 10000000", sections: ["pipeline"] },
  // Queue tuning (pg-boss).
  CALLSCRIBE_JOB_RETRY_LIMIT: { schema: { type: "integer", minimum: 0, maximum: 50 }, rule: "a whole number from 0 to 50", sections: ["queue"] },
  CALLSCRIBE_JOB_RETRY_DELAY_SEC: { schema: SECONDS(1, 86400), rule: "whole seconds from 1 to 86400", sections: ["queue"] },
  CALLSCRIBE_JOB_TIMEOUT_SEC: { schema: SECONDS(5, 86400), rule: "whole seconds from 5 to 86400", sections: ["queue"] },
  CALLSCRIBE_QUEUE_POLL_SEC: { schema: { type: "number", minimum: 0.5, maximum: 600 }, rule: "seconds from 0.5 to 600", sections: ["queue"] },
  CALLSCRIBE_QUEUE_MAINTENANCE_SEC: { schema: SECONDS(1, 3600), rule: "whole seconds from 1 to 3600", sections: ["queue"] },
  CALLSCRIBE_WORKER_HEARTBEAT_SEC: { schema: SECONDS(1, 300), rule: "whole seconds from 1 to 300", sections: ["queue"] },
  CALLSCRIBE_WORKER_STALE_SEC: { schema: SECONDS(3, 3600), rule: "whole seconds from 3 to 3600, more than twice CALLSCRIBE_WORKER_HEARTBEAT_SEC", sections: ["queue"] },
  // Analysis (summary, topic): the pipeline and the batch CLI.
  CALLSCRIBE_TOPICS: { schema: { type: "string", pattern: "[^,\\s]" }, rule: "a comma-separated list of topic names", sections: ["pipeline", "analysis"] },
  LLM_BASE_URL: { schema: { type: "string", pattern: "^https?://\\S+$" }, rule: RULE.llmBaseUrl, sections: ["pipeline", "analysis"], check: urlCheck(RULE.llmBaseUrl, ["http:", "https:"]) },
  LLM_API_KEY: { schema: { type: "string", minLength: 1, pattern: "^\\S+$" }, rule: "a key without spaces", sections: ["pipeline", "analysis"], secret: true },
  LLM_MODEL: { schema: { type: "string", minLength: 1, maxLength: 200 }, rule: "a model name", sections: ["pipeline", "analysis"] },
} as const satisfies Record<string, Variable>;

/** The name of a variable in {@link VARIABLES}. */
export type VariableName = keyof typeof VARIABLES;

/** Validated values, coerced (numbers, lists); absent when unset or empty. */
export type EnvValues = Partial<Record<VariableName, unknown>>;

const table: Record<string, Variable> = VARIABLES;

const validate = new Ajv({ coerceTypes: true, allErrors: false }).compile({
  type: "object",
  properties: Object.fromEntries(Object.entries(table).map(([name, v]) => [name, v.schema])),
});

/** The value as an error may show it: hidden for secrets, DATABASE_URL without its password. */
function shown(name: string, value: unknown): string {
  if (table[name]?.secret) return "(hidden)";
  if (name === "DATABASE_URL") return JSON.stringify(redactUrl(String(value)));
  return JSON.stringify(value);
}

/**
 * The error for a bad value: "Invalid environment variable NAME=value: must be RULE." (`detail`
 * replaces "must be RULE").
 */
export function invalid(name: string, value: unknown, detail?: string): ConfigError {
  return new ConfigError(name, `Invalid environment variable ${name}=${shown(name, value)}: ${detail ?? `must be ${table[name]?.rule ?? "valid"}`}.`);
}

/**
 * Read and validate the variables the given sections use.
 * @param env the environment
 * @param sections which variables to read (a process ignores the others)
 * @param cwd base of relative paths in checks
 * @throws ConfigError naming the first bad variable, what it must be and (except for secrets) what it was
 */
export function readEnv(env: NodeJS.ProcessEnv, sections: readonly Section[], cwd: string): EnvValues {
  const picked: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(table)) {
    if (!v.sections.some((s) => sections.includes(s))) continue;
    const value = env[name];
    if (value !== undefined && value !== "") picked[name] = v.list ? splitList(value) : value;
  }
  const original = { ...picked };
  if (!validate(picked)) {
    const err = validate.errors![0];
    const name = err.instancePath.split("/")[1] ?? "";
    throw invalid(name, original[name], table[name] ? undefined : `must be ${err.message}`);
  }
  for (const [name, value] of Object.entries(picked)) {
    const problem = table[name].check?.(value, cwd);
    if (problem !== undefined) throw invalid(name, original[name], problem);
  }
  return picked as EnvValues;
}
