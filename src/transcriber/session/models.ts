/**
 * The engine picker's choices: the speech models the server offers, from Deepgram's
 * `GET /v1/models` (`{stt: [{name, canonical_name, architecture, languages, streaming}]}`).
 * The picker always offers "server default" (no `model` parameter) first; when the server does
 * not list its models the picker offers only that.
 */
import Ajv from "ajv";
import { isNetworkError, unreachableMessage } from "./reachability";

/** One choice in the engine picker. `model` undefined means the server's default. */
export interface ModelChoice {
  model?: string;
  label: string;
  /** Languages the model accepts (lower-case BCP 47 primary tags), when the server lists them. */
  languages?: string[];
  /** Engine behind the model (`/v1/models` `architecture`: `pocketsphinx`, `whisper`, `deepgram`), when listed. */
  architecture?: string;
}

/** Engine name our server lists for Deepgram's cloud models (`architecture` in `/v1/models`). */
export const DEEPGRAM_ARCHITECTURE = "deepgram";

/** Whether a choice is a Deepgram cloud model, so it can also be reached directly (`connection-mode`). */
export function isDeepgramChoice(choice: ModelChoice | undefined): boolean {
  return choice?.model !== undefined && choice.architecture === DEEPGRAM_ARCHITECTURE;
}

const MODELS_SCHEMA = {
  type: "object",
  required: ["stt"],
  properties: {
    stt: {
      type: "array",
      items: {
        type: "object",
        required: ["name"],
        properties: {
          name: { type: "string", minLength: 1 },
          canonical_name: { type: "string", minLength: 1 },
          architecture: { type: "string" },
          languages: { type: "array", items: { type: "string" } },
          streaming: { type: "boolean" },
          default: { type: "boolean" },
        },
      },
    },
  },
} as const;

let validate: ReturnType<Ajv["compile"]> | undefined;

/**
 * Choices from a `/v1/models` body: streaming-capable STT models, by canonical name.
 * @throws Error naming the field when the body is not Deepgram's shape
 */
export function modelChoicesFromBody(body: unknown): ModelChoice[] {
  validate ??= new Ajv().compile(MODELS_SCHEMA);
  if (!validate(body)) throw new Error(`unexpected /v1/models answer: ${validate.errors?.[0]?.instancePath || "(root)"} ${validate.errors?.[0]?.message}`);
  const stt = (body as { stt: { name: string; canonical_name?: string; architecture?: string; streaming?: boolean; languages?: string[]; default?: boolean }[] }).stt;
  const seen = new Set<string>();
  // Our server marks its default model (`default: true`); its languages are those of "server default".
  const defaultLanguages = stt.find((m) => m.default)?.languages;
  const choices: ModelChoice[] = [{ label: "server default", ...(defaultLanguages ? { languages: [...defaultLanguages] } : {}) }];
  for (const m of stt) {
    if (m.streaming === false) continue;
    const model = m.canonical_name ?? m.name;
    if (seen.has(model)) continue;
    seen.add(model);
    choices.push({
      model,
      label: m.architecture && !model.includes(m.architecture) ? `${model} (${m.architecture})` : model,
      ...(m.languages ? { languages: [...m.languages] } : {}),
      ...(m.architecture ? { architecture: m.architecture } : {}),
    });
  }
  return choices;
}

/**
 * The languages to offer for a model choice: its own list, English first; `["en"]` when unknown.
 */
export function languagesOf(choice: ModelChoice | undefined): string[] {
  const list = choice?.languages?.length ? choice.languages : ["en"];
  return list.includes("en") ? ["en", ...list.filter((l) => l !== "en")] : [...list];
}

/**
 * Fetch the choices; resolves to only "server default" (and the reason) when the list is unavailable.
 * @param apiKey our server's key, when it needs one (`Authorization: Token <key>`)
 */
export async function fetchModelChoices(baseUrl: string, fetchImpl: typeof fetch = fetch, apiKey?: string): Promise<{ choices: ModelChoice[]; error?: string }> {
  try {
    const headers: Record<string, string> = { accept: "application/json" };
    if (apiKey) headers.authorization = `Token ${apiKey}`;
    const res = await fetchImpl(`${baseUrl}/v1/models`, { headers });
    if (!res.ok) throw new Error(`GET /v1/models: HTTP ${res.status}`);
    return { choices: modelChoicesFromBody(await res.json()) };
  } catch (err) {
    const error = isNetworkError(err) ? unreachableMessage(baseUrl) : err instanceof Error ? err.message : String(err);
    return { choices: [{ label: "server default" }], error };
  }
}
