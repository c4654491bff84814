/**
 * A Deepgram `/v1/listen` client for tests and benchmarks, built on the real `@deepgram/sdk`
 * (`client.listen.v1.connect`, `sendMedia`, `sendCloseStream`): load corpus audio as 16 kHz PCM16,
 * stream it in chunks (faster than real time or paced), collect every server message.
 */
import { readFileSync } from "node:fs";
import { DeepgramClient } from "@deepgram/sdk";
import { decodeAudioBody, toEngineChannels } from "../server/speech/audio/decode";
import type { ResultsMessage } from "../server/speech/protocol";

/** Decode a corpus file (WAV/FLAC) to mono 16 kHz PCM16, as a client would before streaming linear16. */
export async function loadPcm16k(path: string): Promise<Int16Array> {
  const { audio } = await decodeAudioBody(readFileSync(path));
  const [mono] = await toEngineChannels(audio, false);
  return mono;
}

/** Split PCM16 into chunks of `ms` milliseconds at 16 kHz, as raw little-endian bytes. */
export function chunkPcm(pcm: Int16Array, ms = 100, sampleRate = 16000): Uint8Array[] {
  const step = Math.round((sampleRate * ms) / 1000);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < pcm.length; i += step) {
    const part = pcm.subarray(i, Math.min(i + step, pcm.length));
    chunks.push(new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength)));
  }
  return chunks;
}

/** What a streamed session produced. */
export interface StreamOutcome {
  /** Every JSON message, in arrival order. */
  messages: Record<string, unknown>[];
  /** Close code and reason the client saw. */
  close: { code: number; reason: string };
  /** Concatenated transcripts of final Results, per channel index. */
  finals: string[];
  /** Arrival time (performance.now) of each message, same order as `messages`. */
  arrivals: number[];
  /** Time (performance.now) each audio chunk was sent, by chunk index. */
  sentAt: number[];
}

/** Options of {@link streamWithSdk}. */
export interface StreamOptions {
  apiKey?: string;
  /** Extra connect args (query parameters), e.g. `{ interim_results: "true" }`. */
  query?: Record<string, unknown>;
  /** Chunk length, ms. Default 100. */
  chunkMs?: number;
  /** Wait between chunks, ms. Default 0 (faster than real time). */
  paceMs?: number;
  /**
   * Real-time pace: chunk `i` is sent at `start + (i + 1) * chunkMs`, when a live source would have
   * captured it (overrides `paceMs`).
   */
  realTime?: boolean;
  /** Called after each chunk is sent, with its index and the send time. */
  onChunkSent?: (index: number, at: number) => void;
  /** Send CloseStream after the audio (default true). */
  closeStream?: boolean;
  /** Upper bound for the whole session, ms (default 120 000). */
  timeoutMs?: number;
}

/**
 * Stream PCM16 16 kHz mono (or pre-encoded bytes) through `/v1/listen` with the real Deepgram SDK,
 * then send CloseStream and wait for the server to close.
 */
export async function streamWithSdk(baseUrl: string, audio: Int16Array | Uint8Array[], options: StreamOptions = {}): Promise<StreamOutcome> {
  const client = new DeepgramClient({ apiKey: options.apiKey ?? "no-key-needed", baseUrl });
  const conn = await client.listen.v1.connect({
    model: "pocketsphinx",
    encoding: "linear16",
    sample_rate: 16000,
    reconnectAttempts: 0,
    ...options.query,
  });
  const messages: Record<string, unknown>[] = [];
  const arrivals: number[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    conn.on("close", (event: { code?: number; reason?: string }) => resolve({ code: event.code ?? 0, reason: event.reason ?? "" }));
  });
  conn.on("message", (m: unknown) => {
    arrivals.push(performance.now());
    messages.push(m as Record<string, unknown>);
  });
  conn.on("error", () => undefined); // the close event carries what we assert on
  conn.connect();
  await conn.waitForOpen();
  const chunks = audio instanceof Int16Array ? chunkPcm(audio, options.chunkMs ?? 100) : audio;
  let stoppedEarly = false;
  const sentAt: number[] = [];
  const chunkMs = options.chunkMs ?? 100;
  const t0 = performance.now();
  for (let i = 0; i < chunks.length; i++) {
    if (options.realTime) await sleep(Math.max(0, t0 + (i + 1) * chunkMs - performance.now()));
    if (conn.readyState !== 1) {
      stoppedEarly = true;
      break;
    }
    conn.sendMedia(chunks[i]);
    sentAt.push(performance.now());
    options.onChunkSent?.(i, sentAt[i]);
    if (options.realTime) continue;
    if (options.paceMs) await sleep(options.paceMs);
    else if (i % 10 === 9) await sleep(0); // let the socket drain
  }
  if (!stoppedEarly && options.closeStream !== false && conn.readyState === 1) conn.sendCloseStream({ type: "CloseStream" });
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const close = await Promise.race([
    closed,
    new Promise<{ code: number; reason: string }>((resolve) => {
      timer = setTimeout(() => {
        conn.close();
        resolve({ code: -1, reason: `client timeout after ${timeoutMs} ms` });
      }, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return { messages, close, finals: finalTranscripts(messages), arrivals, sentAt };
}

/** Concatenate the transcripts of final Results per channel. */
export function finalTranscripts(messages: Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    if (m.type !== "Results") continue;
    const r = m as unknown as ResultsMessage;
    if (!r.is_final) continue;
    const ch = r.channel_index[0];
    const t = r.channel.alternatives[0]?.transcript ?? "";
    if (t) out[ch] = out[ch] ? `${out[ch]} ${t}` : t;
  }
  for (let i = 0; i < out.length; i++) out[i] ??= "";
  return out.length ? out : [""];
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}
