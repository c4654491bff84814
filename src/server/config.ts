/**
 * Speech-server configuration from the environment, validated at boot with ajv. A bad value stops
 * the server with a message that names the variable.
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
 * | CALLSCRIBE_MODELS_DIR | folder of Whisper ggml models (`ggml-<name>.bin`, `for-tests-ggml-<name>.bin`) | `models/` in the repository |
 * | CALLSCRIBE_DEFAULT_MODEL | model used when a request names none, e.g. `pocketsphinx`, `whisper-base.en`, `nova-3` | Whisper with a real model, else PocketSphinx (see `speech/engines/registry.ts`) |
 * | DEEPGRAM_API_KEY | Deepgram key: enables the `nova-*` models (relayed) and `POST /v1/auth/grant`; never sent to browsers | unset: no Deepgram |
 * | DEEPGRAM_BASE_URL | Deepgram's API root (http/https; tests point it at a fake) | https://api.deepgram.com |
 * | CALLSCRIBE_MAX_AUDIO_SECONDS | longest audio `POST /v1/listen` (and a recorded call) may hold, seconds, 1–86400; longer is refused with 413 | 14400 (4 h) |
 * | CALLSCRIBE_MAX_LIVE_CHANNELS | live channels (decoders) admitted at once; more sessions get 503 + Retry-After | min(2 × cores, half the memory / 100 MB), see `speech/admission.ts` |
 *
 * An empty variable counts as unset.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import Ajv from "ajv";
import { DEFAULT_MAX_AUDIO_SECONDS } from "./speech/audio/limits";

/** Validated configuration. */
export interface ServerConfig {
  port: number;
  host: string;
  apiKey?: string;
  /** Lifetime of `listen` tokens, seconds. */
  tokenTtlSeconds: number;
  /** Extra allowed origins, lower case, e.g. `http://localhost:5173`. */
  allowedOrigins: string[];
  /** Extra host names served under, lower case. */
  serverNames: string[];
  /** Header and whole-request timeouts, seconds. */
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  /** Absolute path of an existing directory. */
  staticDir?: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Absolute path of the Whisper models folder (it need not exist: then no Whisper model is offered). */
  modelsDir?: string;
  /** Model for requests that name none; checked against the available models when the registry is built. */
  defaultModel?: string;
  /** Deepgram cloud access, when DEEPGRAM_API_KEY is set. `baseUrl` without a trailing slash. */
  deepgram?: { apiKey: string; baseUrl: string };
  /** Longest pre-recorded audio, seconds. */
  maxAudioSeconds: number;
  /** Live channels admitted at once; undefined: sized from the machine (`defaultMaxLiveChannels`). */
  maxLiveChannels?: number;
}

/** Deepgram's public API root. */
export const DEEPGRAM_CLOUD_URL = "https://api.deepgram.com";

/** Thrown by {@link loadConfig}; `variable` is the offending environment variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

const ENV_SCHEMA = {
  type: "object",
  properties: {
    PORT: { type: "integer", minimum: 0, maximum: 65535 },
    HOST: { type: "string", minLength: 1, maxLength: 253, pattern: "^[A-Za-z0-9.:\\-\\[\\]%]+$" },
    CALLSCRIBE_API_KEY: { type: "string", minLength: 8, maxLength: 512, pattern: "^\\S+$" },
    CALLSCRIBE_TOKEN_TTL_SECONDS: { type: "integer", minimum: 30, maximum: 86_400 },
    CALLSCRIBE_ALLOWED_ORIGINS: { type: "array", items: { type: "string", pattern: "^https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:\\d{1,5})?$" } },
    CALLSCRIBE_SERVER_NAMES: { type: "array", items: { type: "string", pattern: "^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$" } },
    CALLSCRIBE_HEADERS_TIMEOUT_SECONDS: { type: "integer", minimum: 1, maximum: 600 },
    CALLSCRIBE_REQUEST_TIMEOUT_SECONDS: { type: "integer", minimum: 1, maximum: 86_400 },
    CALLSCRIBE_STATIC_DIR: { type: "string", minLength: 1 },
    CALLSCRIBE_LOG_LEVEL: { enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] },
    CALLSCRIBE_MODELS_DIR: { type: "string", minLength: 1 },
    CALLSCRIBE_DEFAULT_MODEL: { type: "string", minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$" },
    DEEPGRAM_API_KEY: { type: "string", minLength: 8, maxLength: 512, pattern: "^\\S+$" },
    DEEPGRAM_BASE_URL: { type: "string", minLength: 1, maxLength: 2000, pattern: "^https?://[^\\s/?#]+(/[^\\s?#]*)?$" },
    CALLSCRIBE_MAX_AUDIO_SECONDS: { type: "integer", minimum: 1, maximum: 86_400 },
    CALLSCRIBE_MAX_LIVE_CHANNELS: { type: "integer", minimum: 1, maximum: 10000 },
  },
} as const;

const RULES: Record<string, string> = {
  PORT: "an integer port from 0 to 65535",
  HOST: "a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0",
  CALLSCRIBE_API_KEY: "at least 8 characters without spaces",
  CALLSCRIBE_TOKEN_TTL_SECONDS: "an integer number of seconds from 30 to 86400",
  CALLSCRIBE_ALLOWED_ORIGINS: "comma-separated origins such as http://localhost:5173 (scheme, host, optional port; no path)",
  CALLSCRIBE_SERVER_NAMES: "comma-separated host names such as callscribe.example.com",
  CALLSCRIBE_HEADERS_TIMEOUT_SECONDS: "an integer number of seconds from 1 to 600",
  CALLSCRIBE_REQUEST_TIMEOUT_SECONDS: "an integer number of seconds from 1 to 86400",
  CALLSCRIBE_STATIC_DIR: "a directory path",
  CALLSCRIBE_LOG_LEVEL: "one of fatal, error, warn, info, debug, trace, silent",
  CALLSCRIBE_MODELS_DIR: "a directory path",
  CALLSCRIBE_DEFAULT_MODEL: "a model name such as pocketsphinx, whisper-base.en or nova-3",
  DEEPGRAM_API_KEY: "at least 8 characters without spaces",
  DEEPGRAM_BASE_URL: "an http(s) URL without query, e.g. https://api.deepgram.com",
  CALLSCRIBE_MAX_AUDIO_SECONDS: "a whole number of seconds from 1 to 86400",
  CALLSCRIBE_MAX_LIVE_CHANNELS: "an integer from 1 to 10000",
};

/** Variables whose values are secrets: never echoed in errors. */
const SECRET = new Set(["CALLSCRIBE_API_KEY", "DEEPGRAM_API_KEY"]);

/** Variables holding comma-separated lists (validated entry by entry). */
const LISTS = new Set(["CALLSCRIBE_ALLOWED_ORIGINS", "CALLSCRIBE_SERVER_NAMES"]);

const validateEnv = new Ajv({ coerceTypes: true, allErrors: false }).compile(ENV_SCHEMA);

/**
 * Read and validate the configuration.
 * @param env the environment (default `process.env`)
 * @throws ConfigError naming the variable, what it must be, and (except for the API key) what it was
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const picked: Record<string, unknown> = {};
  for (const name of Object.keys(ENV_SCHEMA.properties)) {
    const value = env[name];
    if (value !== undefined && value !== "") picked[name] = LISTS.has(name) ? value.split(",").map((v) => v.trim()).filter((v) => v !== "") : value;
  }
  const original = { ...picked };
  if (!validateEnv(picked)) {
    const err = validateEnv.errors![0];
    const variable = err.instancePath.split("/")[1] ?? "";
    const shown = SECRET.has(variable) ? "(hidden)" : JSON.stringify(original[variable]);
    throw new ConfigError(variable, `Invalid environment variable ${variable}=${shown}: must be ${RULES[variable] ?? err.message}.`);
  }
  let staticDir: string | undefined;
  if (picked.CALLSCRIBE_STATIC_DIR !== undefined) {
    staticDir = resolve(String(picked.CALLSCRIBE_STATIC_DIR));
    let isDir = false;
    try {
      isDir = statSync(staticDir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      throw new ConfigError(
        "CALLSCRIBE_STATIC_DIR",
        `Invalid environment variable CALLSCRIBE_STATIC_DIR=${JSON.stringify(original.CALLSCRIBE_STATIC_DIR)}: ${staticDir} is not a directory (run \`npm run build\` to create dist/).`,
      );
    }
  }
  return {
    port: (picked.PORT as number | undefined) ?? 8787,
    host: (picked.HOST as string | undefined) ?? "127.0.0.1",
    apiKey: picked.CALLSCRIBE_API_KEY as string | undefined,
    tokenTtlSeconds: (picked.CALLSCRIBE_TOKEN_TTL_SECONDS as number | undefined) ?? 600,
    allowedOrigins: ((picked.CALLSCRIBE_ALLOWED_ORIGINS as string[] | undefined) ?? []).map((o) => o.toLowerCase()),
    serverNames: ((picked.CALLSCRIBE_SERVER_NAMES as string[] | undefined) ?? []).map((n) => n.toLowerCase()),
    headersTimeoutSeconds: (picked.CALLSCRIBE_HEADERS_TIMEOUT_SECONDS as number | undefined) ?? 15,
    requestTimeoutSeconds: (picked.CALLSCRIBE_REQUEST_TIMEOUT_SECONDS as number | undefined) ?? 120,
    staticDir,
    logLevel: (picked.CALLSCRIBE_LOG_LEVEL as ServerConfig["logLevel"] | undefined) ?? "info",
    modelsDir: picked.CALLSCRIBE_MODELS_DIR !== undefined ? resolve(String(picked.CALLSCRIBE_MODELS_DIR)) : undefined,
    defaultModel: picked.CALLSCRIBE_DEFAULT_MODEL as string | undefined,
    deepgram:
      picked.DEEPGRAM_API_KEY !== undefined
        ? { apiKey: String(picked.DEEPGRAM_API_KEY), baseUrl: String(picked.DEEPGRAM_BASE_URL ?? DEEPGRAM_CLOUD_URL).replace(/\/+$/, "") }
        : undefined,
    maxAudioSeconds: (picked.CALLSCRIBE_MAX_AUDIO_SECONDS as number | undefined) ?? DEFAULT_MAX_AUDIO_SECONDS,
    maxLiveChannels: picked.CALLSCRIBE_MAX_LIVE_CHANNELS as number | undefined,
  };
}

/** The engine part of the configuration: what every process needs to choose its speech engine. */
export type EngineConfig = Pick<ServerConfig, "modelsDir" | "defaultModel" | "deepgram">;

/** Variables {@link loadEngineConfig} reads (validated by the same rules as in {@link loadConfig}). */
export const ENGINE_VARIABLES = ["CALLSCRIBE_MODELS_DIR", "CALLSCRIBE_DEFAULT_MODEL", "DEEPGRAM_API_KEY", "DEEPGRAM_BASE_URL"] as const;

/**
 * Only the engine variables ({@link ENGINE_VARIABLES}), for processes that serve no HTTP
 * (`npm run worker`, `npm run transcribe`), so their other variables (PORT, HOST…) do not matter there.
 * @throws ConfigError naming the variable
 */
export function loadEngineConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const { modelsDir, defaultModel, deepgram } = loadConfig(Object.fromEntries(ENGINE_VARIABLES.map((name) => [name, env[name]])));
  return { modelsDir, defaultModel, deepgram };
}
