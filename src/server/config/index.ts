/**
 * The one configuration reader of every process (`main.ts`, `pipeline/worker-main.ts`,
 * `cli/transcribe.ts`): {@link loadConfig} reads the environment once (variables in `env.ts`),
 * checks the rules that span variables or depend on the process's role, and returns the config in
 * sections. Every configuration error is a {@link ConfigError} thrown here, before anything starts;
 * the entry points print its message and exit 2. Nothing is created on disk here: the data dir
 * and its generated key are made by the boot step {@link prepareDataDir} (`boot.ts`).
 */
import { availableParallelism } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { DEFAULT_MAX_AUDIO_SECONDS } from "../speech/audio/limits";
import { defaultModelsDir } from "../speech/engines/whisper/models";
import { defaultCorpusDir } from "../../eval/corpus";
import { ConfigError } from "./error";
import { decodeKey, invalid, readEnv, splitList, type EnvValues, type Section } from "./env";

export { ConfigError } from "./error";
export { VARIABLES, redactUrl, type VariableName } from "./env";
export { prepareDataDir, GENERATED_KEY_FILE, type PrepareDataDirOptions } from "./boot";

/** The speech server's HTTP and WebSocket settings. */
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
  /** Longest pre-recorded audio, seconds per channel (channel-seconds up to twice that: `speech/audio/limits.ts`). */
  maxAudioSeconds: number;
  /** Live channels admitted at once; undefined: sized from the machine (`defaultMaxLiveChannels`). */
  maxLiveChannels?: number;
  /** Genesys AudioHook ingress (`GET /v1/audiohook`); undefined: off (503). */
  audiohook?: { apiKey: string; clientSecret?: Buffer };
  /** The demo PBX (`telephony/demo-pbx/`): on with the pages unless CALLSCRIBE_DEMO_PBX=off; `corpusDir` absolute. */
  demoPbx: { enabled: boolean; corpusDir: string };
  /** CALLSCRIBE_TWILIO_AUTH_TOKEN: Twilio Media Streams ingress on, signatures checked with it. */
  twilioAuthToken?: string;
  /** CALLSCRIBE_PUBLIC_URL without a trailing slash, e.g. `wss://calls.example.com`. */
  publicUrl?: string;
}

/** What every process needs to choose its speech engine (`speech/engines/choose.ts`). */
export interface EngineConfig {
  /** Absolute path of the Whisper models folder: CALLSCRIBE_MODELS_DIR, else `models/` in the repository (it need not exist: then no Whisper model is offered). */
  modelsDir: string;
  /** Model for requests that name none; checked against the available models when the registry is built. */
  defaultModel?: string;
  /** Deepgram cloud access, when DEEPGRAM_API_KEY is set. `baseUrl` without a trailing slash. */
  deepgram?: { apiKey: string; baseUrl: string };
}

/** Summary and topic settings (the pipeline's analyze stage and the batch CLI). */
export interface AnalysisConfig {
  /** Topic taxonomy, in the given order. */
  topics: string[];
  /** OpenAI-compatible endpoint for summary and topic; undefined = on-premise NLP. */
  llm?: { baseUrl: string; apiKey?: string; model: string };
}

/** The recorded-call pipeline as read from the environment: the key may still have to be generated ({@link prepareDataDir}). */
export interface PipelineSettings extends AnalysisConfig {
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
  /** The 32-byte AES-256-GCM key from CALLSCRIBE_ENCRYPTION_KEY; undefined: embedded mode, generated in the data dir at boot. */
  encryptionKey?: Buffer;
  /** Generic JSON CRM connector endpoint. */
  crmUrl?: string;
  /** Days to keep downloaded audio. */
  audioRetentionDays: number;
  /** CALLSCRIBE_TRANSCRIPT_RETENTION_DAYS: days the library keeps a transcript; undefined: keep. */
  transcriptRetentionDays?: number;
  /** Largest recording to download, bytes. */
  maxRecordingBytes: number;
  /** Time limit of one download, ms. */
  downloadTimeoutMs: number;
  /** Concurrent pipeline jobs per process. */
  workers: number;
  /** Waiting jobs (created or retry) at which the queue counts as far behind. */
  queueAlertDepth: number;
  /** Longest recording transcribed, seconds per channel; channel-seconds up to twice that (`speech/audio/limits.ts`; unset: {@link DEFAULT_MAX_AUDIO_SECONDS}). */
  maxAudioSeconds?: number;
}

/** The pipeline's configuration once booted: the key is known. */
export interface PipelineConfig extends PipelineSettings {
  /** The 32-byte AES-256-GCM key. */
  encryptionKey: Buffer;
  /** Where the key came from: the environment, or the file generated/read in the data dir (embedded dev mode). */
  encryptionKeySource: "env" | "data-dir";
}

/** Queue tuning (pg-boss). Times in seconds. */
export interface QueueOptions {
  /** Retries after the first attempt (default 5). */
  retryLimit: number;
  /** Base delay of the exponential backoff, seconds (default 15). */
  retryDelaySec: number;
  /** A job running longer than this is failed (and retried): it bounds how long a killed worker holds a job. Default 1800. */
  jobTimeoutSec: number;
  /** How often an idle worker polls, seconds (default 2, minimum 0.5). */
  pollIntervalSec: number;
  /** How often pg-boss maintenance (expiry of abandoned jobs, archiving) runs, seconds (default 30). */
  maintenanceIntervalSec: number;
  /** How often a process writes its liveness heartbeat and checks other workers', seconds (default 10; `liveness.ts`). */
  heartbeatSec: number;
  /** A worker without a heartbeat for this long is dead and its jobs are retried, seconds (default 45). */
  workerStaleSec: number;
}

/** Queue tuning used when no `CALLSCRIBE_JOB_*` / `CALLSCRIBE_QUEUE_*` / `CALLSCRIBE_WORKER_*` variable overrides it. */
export const DEFAULT_QUEUE_OPTIONS: QueueOptions = {
  retryLimit: 5,
  retryDelaySec: 15,
  jobTimeoutSec: 1800,
  pollIntervalSec: 2,
  maintenanceIntervalSec: 30,
  heartbeatSec: 10,
  workerStaleSec: 45,
};

/** Deepgram's public API root. */
export const DEEPGRAM_CLOUD_URL = "https://api.deepgram.com";

/** Topic labels the analyze stage chooses from when `CALLSCRIBE_TOPICS` is unset. */
export const DEFAULT_TOPICS = ["Sales Inquiry", "Support Request", "Complaint", "Billing"];

/** Waiting jobs at which the queue counts as far behind, when CALLSCRIBE_QUEUE_ALERT_DEPTH is unset. */
export const DEFAULT_QUEUE_ALERT_DEPTH = 500;

/**
 * Concurrent jobs when CALLSCRIBE_WORKERS is unset: one per CPU core, as many as the speech
 * engine's pool has decoders, so the engine (not the queue) bounds throughput. 1–64.
 */
export function defaultWorkers(): number {
  return Math.min(64, Math.max(1, availableParallelism()));
}

/** The whole configuration. */
export interface Config {
  server: ServerConfig;
  engine: EngineConfig;
  pipeline: PipelineSettings;
  queue: QueueOptions;
  analysis: AnalysisConfig;
}

/**
 * The process reading the configuration: `server` (`npm run server`: everything), `worker`
 * (`npm run worker`: no HTTP settings; DATABASE_URL required), `cli` (`npm run transcribe`: the
 * engine and analysis only, so no data dir, key or database matters there).
 */
export type Role = "server" | "worker" | "cli";

/** The sections each role reads; variables of other sections are ignored (not validated). */
const ROLE_SECTIONS = {
  server: ["server", "engine", "pipeline", "queue", "analysis"],
  worker: ["engine", "pipeline", "queue", "analysis"],
  cli: ["engine", "analysis"],
} as const satisfies Record<Role, readonly Section[]>;

/** The configuration a role gets. */
export type ConfigFor<R extends Role> = Pick<Config, (typeof ROLE_SECTIONS)[R][number]>;

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions<R extends Role> {
  role: R;
  /** Base of relative paths (CALLSCRIBE_DATA_DIR, CALLSCRIBE_STATIC_DIR, CALLSCRIBE_MODELS_DIR). Default `process.cwd()`. */
  cwd?: string;
}

/**
 * Read and validate the configuration of a process; creates nothing.
 * @param env the environment, e.g. `process.env`
 * @returns the sections the role reads ({@link ConfigFor})
 * @throws ConfigError naming the variable: a bad value (what it must be and, except for secrets,
 *   what it was), a variable missing that another one or the role requires
 */
export function loadConfig<R extends Role>(env: NodeJS.ProcessEnv, options: LoadConfigOptions<R>): ConfigFor<R> {
  const cwd = options.cwd ?? process.cwd();
  const sections: readonly Section[] = ROLE_SECTIONS[options.role];
  const v = readEnv(env, sections, cwd);
  const out: Partial<Config> = {};
  if (sections.includes("server")) out.server = serverSection(v, cwd);
  if (sections.includes("engine")) out.engine = engineSection(v, cwd);
  if (sections.includes("analysis")) out.analysis = analysisSection(v);
  if (sections.includes("pipeline")) out.pipeline = pipelineSection(v, cwd, options.role);
  if (sections.includes("queue")) out.queue = queueSection(v);
  return out as ConfigFor<R>;
}

function serverSection(v: EnvValues, cwd: string): ServerConfig {
  return {
    port: (v.PORT as number | undefined) ?? 8787,
    host: (v.HOST as string | undefined) ?? "127.0.0.1",
    apiKey: v.CALLSCRIBE_API_KEY as string | undefined,
    tokenTtlSeconds: (v.CALLSCRIBE_TOKEN_TTL_SECONDS as number | undefined) ?? 600,
    allowedOrigins: ((v.CALLSCRIBE_ALLOWED_ORIGINS as string[] | undefined) ?? []).map((o) => o.toLowerCase()),
    serverNames: ((v.CALLSCRIBE_SERVER_NAMES as string[] | undefined) ?? []).map((n) => n.toLowerCase()),
    headersTimeoutSeconds: (v.CALLSCRIBE_HEADERS_TIMEOUT_SECONDS as number | undefined) ?? 15,
    requestTimeoutSeconds: (v.CALLSCRIBE_REQUEST_TIMEOUT_SECONDS as number | undefined) ?? 120,
    staticDir: v.CALLSCRIBE_STATIC_DIR !== undefined ? resolve(cwd, String(v.CALLSCRIBE_STATIC_DIR)) : undefined,
    logLevel: (v.CALLSCRIBE_LOG_LEVEL as ServerConfig["logLevel"] | undefined) ?? "info",
    maxAudioSeconds: (v.CALLSCRIBE_MAX_AUDIO_SECONDS as number | undefined) ?? DEFAULT_MAX_AUDIO_SECONDS,
    maxLiveChannels: v.CALLSCRIBE_MAX_LIVE_CHANNELS as number | undefined,
    audiohook: audiohookSettings(v),
    demoPbx: {
      enabled: v.CALLSCRIBE_DEMO_PBX !== undefined ? v.CALLSCRIBE_DEMO_PBX === "on" : v.CALLSCRIBE_STATIC_DIR !== undefined,
      corpusDir: v.CALLSCRIBE_CORPUS_DIR !== undefined ? resolve(cwd, String(v.CALLSCRIBE_CORPUS_DIR)) : defaultCorpusDir(),
    },
    ...(v.CALLSCRIBE_TWILIO_AUTH_TOKEN !== undefined && { twilioAuthToken: String(v.CALLSCRIBE_TWILIO_AUTH_TOKEN) }),
    ...(v.CALLSCRIBE_PUBLIC_URL !== undefined && { publicUrl: String(v.CALLSCRIBE_PUBLIC_URL).replace(/\/+$/, "") }),
  };
}

function audiohookSettings(v: EnvValues): ServerConfig["audiohook"] {
  const apiKey = v.CALLSCRIBE_AUDIOHOOK_API_KEY as string | undefined;
  const secret = v.CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET as string | undefined;
  if (secret !== undefined && apiKey === undefined) {
    throw new ConfigError(
      "CALLSCRIBE_AUDIOHOOK_API_KEY",
      "Missing environment variable CALLSCRIBE_AUDIOHOOK_API_KEY: CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET is the secret of an AudioHook API key, set both (or neither).",
    );
  }
  if (apiKey === undefined) return undefined;
  return { apiKey, ...(secret !== undefined && { clientSecret: Buffer.from(secret, "base64") }) };
}

function engineSection(v: EnvValues, cwd: string): EngineConfig {
  return {
    // Always set, so nothing downstream reads CALLSCRIBE_MODELS_DIR on its own.
    modelsDir: v.CALLSCRIBE_MODELS_DIR !== undefined ? resolve(cwd, String(v.CALLSCRIBE_MODELS_DIR)) : defaultModelsDir(),
    defaultModel: v.CALLSCRIBE_DEFAULT_MODEL as string | undefined,
    deepgram:
      v.DEEPGRAM_API_KEY !== undefined
        ? { apiKey: String(v.DEEPGRAM_API_KEY), baseUrl: String(v.DEEPGRAM_BASE_URL ?? DEEPGRAM_CLOUD_URL).replace(/\/+$/, "") }
        : undefined,
  };
}

function analysisSection(v: EnvValues): AnalysisConfig {
  let llm: AnalysisConfig["llm"];
  if (v.LLM_BASE_URL !== undefined) {
    if (v.LLM_MODEL === undefined) {
      throw new ConfigError("LLM_MODEL", "Missing environment variable LLM_MODEL: it is required when LLM_BASE_URL is set (the model name the endpoint serves).");
    }
    llm = { baseUrl: String(v.LLM_BASE_URL), model: String(v.LLM_MODEL), ...(v.LLM_API_KEY !== undefined && { apiKey: String(v.LLM_API_KEY) }) };
  }
  const topics = v.CALLSCRIBE_TOPICS !== undefined ? [...new Set(splitList(String(v.CALLSCRIBE_TOPICS)))] : [...DEFAULT_TOPICS];
  return { topics, ...(llm && { llm }) };
}

function pipelineSection(v: EnvValues, cwd: string, role: Role): PipelineSettings {
  const webhookSecret = v.CALLSCRIBE_WEBHOOK_SECRET as string | undefined;
  const databaseUrl = v.DATABASE_URL as string | undefined;
  const crmUrl = v.CALLSCRIBE_CRM_URL as string | undefined;
  if (role === "worker" && databaseUrl === undefined) {
    throw new ConfigError(
      "DATABASE_URL",
      "Missing environment variable DATABASE_URL: `npm run worker` serves a PostgreSQL queue; in the embedded default (PGlite) the server runs the workers itself.",
    );
  }
  if (crmUrl !== undefined && webhookSecret === undefined) {
    throw new ConfigError("CALLSCRIBE_WEBHOOK_SECRET", "Missing environment variable CALLSCRIBE_WEBHOOK_SECRET: CRM deliveries (CALLSCRIBE_CRM_URL) are signed with it.");
  }
  const encryptionKey = v.CALLSCRIBE_ENCRYPTION_KEY !== undefined ? decodeKey(String(v.CALLSCRIBE_ENCRYPTION_KEY)) : undefined;
  if (encryptionKey === undefined && databaseUrl !== undefined) {
    throw new ConfigError(
      "CALLSCRIBE_ENCRYPTION_KEY",
      "Missing environment variable CALLSCRIBE_ENCRYPTION_KEY: it is required when DATABASE_URL is set, so that every worker uses the same key (32 bytes as base64 or 64 hex characters, e.g. `openssl rand -hex 32`).",
    );
  }
  const dataDirRaw = (v.CALLSCRIBE_DATA_DIR as string | undefined) ?? ".data";
  return {
    ...(webhookSecret !== undefined && { webhookSecret }),
    allowedHosts: v.CALLSCRIBE_ALLOWED_HOSTS !== undefined ? splitList(String(v.CALLSCRIBE_ALLOWED_HOSTS)).map((h) => h.toLowerCase()) : [],
    allowedAddresses: v.CALLSCRIBE_ALLOWED_ADDRESSES !== undefined ? splitList(String(v.CALLSCRIBE_ALLOWED_ADDRESSES)) : [],
    dataDir: isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw),
    ...(databaseUrl !== undefined && { databaseUrl }),
    ...(encryptionKey !== undefined && { encryptionKey }),
    ...(crmUrl !== undefined && { crmUrl }),
    audioRetentionDays: (v.CALLSCRIBE_AUDIO_RETENTION_DAYS as number | undefined) ?? 30,
    ...(v.CALLSCRIBE_TRANSCRIPT_RETENTION_DAYS !== undefined && { transcriptRetentionDays: v.CALLSCRIBE_TRANSCRIPT_RETENTION_DAYS as number }),
    ...analysisSection(v),
    maxRecordingBytes: (v.CALLSCRIBE_MAX_RECORDING_BYTES as number | undefined) ?? 200 * 1024 * 1024,
    maxAudioSeconds: (v.CALLSCRIBE_MAX_AUDIO_SECONDS as number | undefined) ?? DEFAULT_MAX_AUDIO_SECONDS,
    downloadTimeoutMs: (v.CALLSCRIBE_DOWNLOAD_TIMEOUT_MS as number | undefined) ?? 120_000,
    workers: (v.CALLSCRIBE_WORKERS as number | undefined) ?? defaultWorkers(),
    queueAlertDepth: (v.CALLSCRIBE_QUEUE_ALERT_DEPTH as number | undefined) ?? DEFAULT_QUEUE_ALERT_DEPTH,
  };
}

/** Queue variables and the options they set. */
const QUEUE_VARIABLES = {
  CALLSCRIBE_JOB_RETRY_LIMIT: "retryLimit",
  CALLSCRIBE_JOB_RETRY_DELAY_SEC: "retryDelaySec",
  CALLSCRIBE_JOB_TIMEOUT_SEC: "jobTimeoutSec",
  CALLSCRIBE_QUEUE_POLL_SEC: "pollIntervalSec",
  CALLSCRIBE_QUEUE_MAINTENANCE_SEC: "maintenanceIntervalSec",
  CALLSCRIBE_WORKER_HEARTBEAT_SEC: "heartbeatSec",
  CALLSCRIBE_WORKER_STALE_SEC: "workerStaleSec",
} as const satisfies Partial<Record<keyof EnvValues, keyof QueueOptions>>;

function queueSection(v: EnvValues): QueueOptions {
  const out = { ...DEFAULT_QUEUE_OPTIONS };
  for (const [name, key] of Object.entries(QUEUE_VARIABLES)) {
    const value = v[name as keyof typeof QUEUE_VARIABLES];
    if (value !== undefined) out[key] = value as number;
  }
  if (out.workerStaleSec <= 2 * out.heartbeatSec) {
    const name = v.CALLSCRIBE_WORKER_STALE_SEC !== undefined ? "CALLSCRIBE_WORKER_STALE_SEC" : "CALLSCRIBE_WORKER_HEARTBEAT_SEC";
    throw invalid(name, String(v[name]), `CALLSCRIBE_WORKER_STALE_SEC (${out.workerStaleSec}) must be more than twice CALLSCRIBE_WORKER_HEARTBEAT_SEC (${out.heartbeatSec})`);
  }
  return out;
}
