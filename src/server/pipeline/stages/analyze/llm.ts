/**
 * Summary and topic from an OpenAI-compatible chat completions endpoint
 * (`POST ${baseUrl}/chat/completions`, the OpenAI API shape served by vLLM, llama.cpp's server,
 * Ollama and others). The request asks for a JSON object through `response_format: json_schema`;
 * the answer is validated with ajv (response envelope, then the JSON content, with the topic
 * restricted to the taxonomy) before it is used. Any failure throws {@link LlmAnalysisError}, and
 * the caller falls back to the on-premise analysis.
 *
 * Privacy: this sends the transcript text to the configured endpoint; it is off unless
 * `LLM_BASE_URL` is set.
 */
import Ajv from "ajv";

/** Where and how to call the model. */
export interface LlmOptions {
  /** Base URL up to `/v1`, e.g. `http://127.0.0.1:8000/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  /** Model name sent as `model`. */
  model: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** Request time limit in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Longest transcript sent, in characters (default 24 000); the rest is cut at a line break. */
  maxTranscriptChars?: number;
}

/** The model's answer, validated. */
export interface LlmAnswer {
  summary: string;
  topic: string;
}

/** The endpoint failed or answered something unusable; `message` says which. */
export class LlmAnalysisError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LlmAnalysisError";
  }
}

const ajv = new Ajv({ allErrors: true });

const validateEnvelope = ajv.compile<{ choices: { message: { content: string } }[] }>({
  type: "object",
  required: ["choices"],
  properties: {
    choices: {
      type: "array",
      minItems: 1,
      items: { type: "object", required: ["message"], properties: { message: { type: "object", required: ["content"], properties: { content: { type: "string" } } } } },
    },
  },
});

/** JSON Schema of the answer for a given taxonomy (sent to the model and used to validate it). */
export function answerSchema(taxonomy: readonly string[]) {
  return {
    type: "object",
    additionalProperties: false,
    required: ["summary", "topic"],
    properties: {
      summary: { type: "string", minLength: 1, maxLength: 2000, description: "Two or three sentences: why the customer called and the outcome." },
      topic: { type: "string", enum: [...taxonomy], description: "The one label that best describes the call." },
    },
  } as const;
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf("\n", max);
  return text.slice(0, cut > max / 2 ? cut : max);
}

/**
 * Ask the model for a summary and a topic.
 * @param transcriptText the call as `speaker: text` lines
 * @throws LlmAnalysisError on a network error, a timeout, a non-2xx status, or an answer that is
 *   not JSON matching {@link answerSchema}
 */
export async function llmSummaryAndTopic(transcriptText: string, taxonomy: readonly string[], options: LlmOptions): Promise<LlmAnswer> {
  const schema = answerSchema(taxonomy);
  const url = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const body = {
    model: options.model,
    temperature: 0,
    messages: [
      {
        role: "system",
        content:
          "You analyse contact-centre call transcripts. Answer with a JSON object only: " +
          `"summary" (two or three sentences) and "topic" (exactly one of: ${taxonomy.map((t) => JSON.stringify(t)).join(", ")}).`,
      },
      { role: "user", content: truncate(transcriptText, options.maxTranscriptChars ?? 24_000) },
    ],
    response_format: { type: "json_schema", json_schema: { name: "call_analysis", strict: true, schema } },
  };
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (err) {
    throw new LlmAnalysisError(`LLM endpoint unreachable or timed out: ${(err as Error).message}`, { cause: err });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new LlmAnalysisError(`LLM endpoint answered HTTP ${response.status}`);
  }
  let envelope: unknown;
  try {
    envelope = await response.json();
  } catch (err) {
    throw new LlmAnalysisError("LLM endpoint answered with invalid JSON", { cause: err });
  }
  if (!validateEnvelope(envelope)) throw new LlmAnalysisError(`LLM response is not a chat completion: ${ajv.errorsText(validateEnvelope.errors)}`);
  // Some servers wrap JSON in a Markdown fence despite response_format.
  const content = envelope.choices[0].message.content.trim().replace(/^```(?:json)?\s*|\s*```$/g, "");
  let answer: unknown;
  try {
    answer = JSON.parse(content);
  } catch (err) {
    throw new LlmAnalysisError("LLM answer is not JSON", { cause: err });
  }
  const validateAnswer = ajv.compile<LlmAnswer>(schema);
  if (!validateAnswer(answer)) throw new LlmAnalysisError(`LLM answer does not match the schema: ${ajv.errorsText(validateAnswer.errors)}`);
  return { summary: answer.summary.trim(), topic: answer.topic };
}
