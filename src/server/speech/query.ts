/**
 * Query parameters of `/v1/listen` (DESIGN.md §4), validated with an ajv JSON Schema.
 *
 * Query strings carry only strings, so values are first given their JSON type where they look like
 * one ("true"/"false" → boolean, digits → integer) and then validated strictly, which keeps the
 * schema readable and makes "interim_results=maybe" or "sample_rate=fast" fail on the right
 * parameter. A value that is not supported is refused with an error naming the parameter;
 * parameter *names* we do not know are ignored (as Deepgram does) and reported back for logging.
 */
import Ajv, { type ErrorObject } from "ajv";
import { RAW_ENCODINGS, type RawEncoding } from "./audio/raw";
import type { SpeechEngine } from "./engines/engine";

/** Which endpoint the parameters are for. */
export type ListenMode = "live" | "prerecorded";

/** Validated options of one `/v1/listen` request. Times in ms as Deepgram names them. */
export interface ListenOptions {
  /** Requested model name, when given (already checked against the engine). */
  model?: string;
  /** BCP 47 tag, when given (already checked against the engine's languages). */
  language?: string;
  /** Raw audio encoding; absent for containers (WAV/FLAC). */
  encoding?: RawEncoding;
  /** Hz; required with `encoding`. */
  sampleRate?: number;
  /** Interleaved channels of raw audio. Default 1. */
  channels: number;
  /** Transcribe each channel on its own (true) or downmix to one (false, default). */
  multichannel: boolean;
  /** Live: send interim results. Default false. */
  interimResults: boolean;
  /** Live: silence in ms that makes a final `speech_final`; `false` = finals only on Finalize/CloseStream. Default 10. */
  endpointing: number | false;
  /** Live: send `UtteranceEnd` after this many ms without words; absent = never. */
  utteranceEndMs?: number;
  /** Live: send `SpeechStarted`. Default false. */
  vadEvents: boolean;
  /** Add `punctuated_word` and a punctuated transcript. */
  punctuate: boolean;
  /** Deepgram's formatting; here the same as `punctuate` (see results.ts). */
  smartFormat: boolean;
  /** Words or phrases to favour (repeated `keyterm`). */
  keyterms: string[];
  /** Label words with a speaker (the channel index: no diarizer). */
  diarize: boolean;
  /** Pre-recorded: include `results.utterances`. */
  utterances: boolean;
  /** Detect the spoken language (Deepgram `detect_language`); only models with more than one language. Default false. */
  detectLanguage: boolean;
  /**
   * Deepgram's `extra=key:value` (repeatable): echoed in the response metadata. `call_id` makes a live
   * multichannel stream a live call (`live-calls/`); `agent_name`, `customer_name`, `phone_number` name its parties.
   */
  extra: Record<string, string>;
}

/** Outcome of {@link parseListenQuery}. */
export type ParsedQuery =
  | { ok: true; options: ListenOptions; ignored: string[] }
  | { ok: false; parameter: string; message: string };

/** Deepgram's default endpointing, ms. */
export const DEFAULT_ENDPOINTING_MS = 10;

const BOOLEAN_PARAMS = ["multichannel", "interim_results", "vad_events", "punctuate", "smart_format", "diarize", "utterances", "detect_language"];
const INTEGER_PARAMS = ["sample_rate", "channels", "utterance_end_ms"];

const LIVE_PARAMS = new Set([
  "model", "language", "encoding", "sample_rate", "channels", "multichannel", "interim_results",
  "endpointing", "utterance_end_ms", "vad_events", "punctuate", "smart_format", "keyterm", "diarize", "detect_language", "extra",
]);
const PRERECORDED_PARAMS = new Set([
  "model", "language", "encoding", "sample_rate", "channels", "multichannel", "punctuate",
  "smart_format", "keyterm", "diarize", "utterances", "detect_language", "extra",
]);

/** Readable rule per parameter, used in error messages. */
const RULES: Record<string, string> = {
  model: "", // filled per engine
  language: "must be a BCP 47 language tag the model supports",
  encoding: `must be one of ${RAW_ENCODINGS.join(", ")}`,
  sample_rate: "must be an integer from 8000 to 48000 (Hz)",
  channels: "must be an integer from 1 to 16",
  multichannel: "must be true or false",
  interim_results: "must be true or false",
  endpointing: "must be false or an integer number of milliseconds from 0 to 60000",
  utterance_end_ms: "must be an integer number of milliseconds from 1 to 60000",
  vad_events: "must be true or false",
  punctuate: "must be true or false",
  smart_format: "must be true or false",
  keyterm: "must be non-empty strings of at most 200 characters, at most 100 of them",
  diarize: "must be true or false",
  utterances: "must be true or false",
  detect_language: "must be true or false",
  extra: "must be key:value pairs (key 1–64 characters without a colon, value at most 256 characters), at most 20 of them",
};

/**
 * JSON Schema of the typed query for one engine and endpoint.
 * @param models model names the engine answers to
 */
export function listenQuerySchema(models: string[], mode: ListenMode) {
  const bool = { type: "boolean" } as const;
  const common = {
    model: { enum: models },
    language: { type: "string", pattern: "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$" },
    encoding: { enum: [...RAW_ENCODINGS] },
    sample_rate: { type: "integer", minimum: 8000, maximum: 48000 },
    channels: { type: "integer", minimum: 1, maximum: 16 },
    multichannel: bool,
    punctuate: bool,
    smart_format: bool,
    keyterm: { type: "array", maxItems: 100, items: { type: "string", minLength: 1, maxLength: 200 } },
    diarize: bool,
    detect_language: bool,
    extra: { type: "array", maxItems: 20, items: { type: "string", pattern: "^[^:]{1,64}:[^]{0,256}$" } },
  };
  const live = {
    interim_results: bool,
    endpointing: { anyOf: [{ type: "boolean" }, { type: "integer", minimum: 0, maximum: 60000 }] },
    utterance_end_ms: { type: "integer", minimum: 1, maximum: 60000 },
    vad_events: bool,
  };
  return {
    $id: `callscribe:listen-query/${mode}`,
    type: "object",
    properties: mode === "live" ? { ...common, ...live } : { ...common, utterances: bool },
  };
}

const ajv = new Ajv({ allErrors: false, strict: true });
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

function validatorFor(models: string[], mode: ListenMode) {
  const key = `${mode}:${models.join(",")}`;
  let v = compiled.get(key);
  if (!v) {
    const schema = listenQuerySchema(models, mode);
    v = ajv.compile({ ...schema, $id: `${schema.$id}/${compiled.size}` });
    compiled.set(key, v);
  }
  return v;
}

/** Give a query-string value its JSON type where it looks like one; the schema then judges it. */
function typed(name: string, raw: string | string[]): unknown {
  if (name === "keyterm" || name === "extra") return Array.isArray(raw) ? raw : [raw];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (BOOLEAN_PARAMS.includes(name) || name === "endpointing") {
    if (value === "true") return true;
    if (value === "false") return false;
  }
  if (INTEGER_PARAMS.includes(name) || name === "endpointing") {
    if (/^-?\d{1,9}$/.test(value)) return Number(value);
  }
  return value;
}

function display(raw: string | string[] | undefined): string {
  const v = Array.isArray(raw) ? raw.join(",") : (raw ?? "");
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}

function refusal(parameter: string, raw: string | string[] | undefined, rule: string): ParsedQuery {
  return { ok: false, parameter, message: `Invalid value "${display(raw)}" for query parameter ${parameter}: ${rule}.` };
}

/**
 * Validate the query of a `/v1/listen` request.
 * @param query parsed query string: each value a string, or an array for repeated names
 * @param mode live (WebSocket) or prerecorded (POST)
 * @param engine the engine that will serve it: its `name`/`model` are the accepted `model` values,
 *   its `languages` the accepted primary language tags
 * @returns the options, or the first invalid parameter and a message naming it
 */
export function parseListenQuery(
  query: Record<string, string | string[] | undefined>,
  mode: ListenMode,
  engine: Pick<SpeechEngine, "name" | "model" | "languages">,
): ParsedQuery {
  const known = mode === "live" ? LIVE_PARAMS : PRERECORDED_PARAMS;
  const models = [...new Set([engine.name, engine.model])];
  const ignored: string[] = [];
  const candidate: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    if (!known.has(name)) {
      ignored.push(name);
      continue;
    }
    candidate[name] = typed(name, raw);
  }
  const validate = validatorFor(models, mode);
  if (!validate(candidate)) {
    const err = (validate.errors as ErrorObject[])[0];
    const parameter = err.instancePath.split("/")[1] || String(err.params?.missingProperty ?? "query");
    const rule = parameter === "model" ? `must be one of ${models.join(", ")} (or absent for the default)` : (RULES[parameter] ?? String(err.message));
    return refusal(parameter, query[parameter], rule);
  }

  const language = candidate.language as string | undefined;
  if (language !== undefined) {
    const primary = language.split("-")[0].toLowerCase();
    if (!engine.languages.includes(primary)) {
      return refusal("language", query.language, `model ${engine.model} supports ${engine.languages.join(", ")}`);
    }
  }
  const detectLanguage = (candidate.detect_language as boolean | undefined) ?? false;
  if (detectLanguage && engine.languages.length < 2) {
    return refusal("detect_language", query.detect_language, `model ${engine.model} cannot detect the language: it supports only ${engine.languages.join(", ")}; use a multilingual model or set language`);
  }
  if (detectLanguage && language !== undefined) {
    return { ok: false, parameter: "detect_language", message: "Query parameters detect_language and language exclude each other: send one of them." };
  }
  const encoding = candidate.encoding as RawEncoding | undefined;
  const sampleRate = candidate.sample_rate as number | undefined;
  if (encoding !== undefined && sampleRate === undefined) {
    return { ok: false, parameter: "sample_rate", message: `Query parameter sample_rate is required when encoding is set (encoding=${encoding}).` };
  }
  const endpointing = candidate.endpointing as boolean | number | undefined;
  const channels = (candidate.channels as number | undefined) ?? 1;
  return {
    ok: true,
    ignored,
    options: {
      model: candidate.model as string | undefined,
      language,
      encoding,
      sampleRate,
      channels,
      multichannel: (candidate.multichannel as boolean | undefined) ?? false,
      interimResults: (candidate.interim_results as boolean | undefined) ?? false,
      // `endpointing=true` asks for endpointing with the default silence.
      endpointing: endpointing === false ? false : endpointing === true || endpointing === undefined ? DEFAULT_ENDPOINTING_MS : endpointing,
      utteranceEndMs: candidate.utterance_end_ms as number | undefined,
      vadEvents: (candidate.vad_events as boolean | undefined) ?? false,
      punctuate: (candidate.punctuate as boolean | undefined) ?? false,
      smartFormat: (candidate.smart_format as boolean | undefined) ?? false,
      keyterms: (candidate.keyterm as string[] | undefined) ?? [],
      diarize: (candidate.diarize as boolean | undefined) ?? false,
      utterances: (candidate.utterances as boolean | undefined) ?? false,
      detectLanguage,
      extra: Object.fromEntries(((candidate.extra as string[] | undefined) ?? []).map((kv) => [kv.slice(0, kv.indexOf(":")), kv.slice(kv.indexOf(":") + 1)])),
    },
  };
}
