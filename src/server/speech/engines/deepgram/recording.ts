/**
 * A recording sent to Deepgram's pre-recorded API (`POST /v1/listen`) as a streamed request body
 * (`Transfer-Encoding: chunked`: no length is known up front), written chunk by chunk as it is
 * decoded, so the relay holds a bounded window of audio instead of the whole recording (issue 7
 * item 8). The words are Deepgram's pre-recorded answer for the whole audio, as `transcribe` gets
 * for the joined buffer. Deepgram documents streamed bodies for pre-recorded audio (its SDK's own
 * example posts `fs.createReadStream(file)`); the request starts at the first non-empty chunk.
 *
 * Memory: the body stream's buffer (`highWaterMark`, default 256 KiB = 8 s of 16 kHz PCM16) plus
 * what the HTTP client has in flight. `write` waits while the buffer is full (backpressure), so a
 * decoder faster than the upload is held back; a request that fails (refused key, Deepgram gone)
 * rejects the waiting `write` at once.
 */
import { PassThrough } from "node:stream";
import type { EngineHypothesis, RecordingTranscription } from "../engine";

/** Default buffer of the body stream, bytes (8 s of 16 kHz PCM16). */
export const DEFAULT_UPLOAD_BUFFER_BYTES = 256 * 1024;

/** Starts the request with `body` as its streamed body; resolves with the utterances once Deepgram answered. */
export type StartUpload = (body: PassThrough, signal: AbortSignal) => Promise<EngineHypothesis[]>;

/** A `RecordingTranscription` that streams PCM16 into one Deepgram pre-recorded request (see the module doc). */
export class StreamedUploadRecording implements RecordingTranscription {
  private body?: PassThrough;
  private answer?: Promise<EngineHypothesis[]>;
  private failure?: Error;
  private readonly failed: Promise<never>;
  private fail!: (err: Error) => void;
  private readonly abort = new AbortController();
  private closed = false;
  /** Bytes handed to the body stream so far. */
  bytesWritten = 0;

  constructor(
    private readonly start: StartUpload,
    private readonly highWaterMark = DEFAULT_UPLOAD_BUFFER_BYTES,
  ) {
    this.failed = new Promise<never>((_, reject) => {
      this.fail = (err) => {
        this.failure ??= err;
        reject(err);
      };
    });
    this.failed.catch(() => undefined);
  }

  /** Bytes written and not yet taken by the HTTP client (the relay's share of the audio in flight). */
  get bufferedBytes(): number {
    return this.body?.writableLength ?? 0;
  }

  /**
   * Append mono 16 kHz PCM16 to the body. Resolves once the body's buffer has room.
   * @throws Error (rejects) when the request failed or the recording is closed
   */
  async write(pcm: Int16Array): Promise<void> {
    this.check();
    if (pcm.length === 0) return;
    const body = this.open();
    this.bytesWritten += pcm.byteLength;
    // A copy: the caller may reuse its buffer, and the stream keeps the chunk until it is sent.
    if (body.write(Buffer.from(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)))) return;
    let onDrain!: () => void;
    const drained = new Promise<void>((resolve) => body.once("drain", (onDrain = resolve)));
    try {
      await Promise.race([drained, this.failed]);
    } finally {
      body.off("drain", onDrain);
    }
  }

  /** End the body and wait for Deepgram's answer. @returns the utterances (none when no audio was written) */
  async finish(): Promise<EngineHypothesis[]> {
    try {
      this.check();
      if (!this.body || !this.answer) return [];
      this.body.end();
      const utterances = await Promise.race([this.answer, this.failed]);
      this.body = undefined; // answered: nothing left to abort
      return utterances;
    } finally {
      this.closed = true;
    }
  }

  /** Give up: abort the request and drop the body. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const body = this.body;
    this.body = undefined;
    if (!body) return;
    const reason = new Error("the recording was abandoned");
    this.abort.abort(reason);
    body.destroy(reason); // with an error: the HTTP client drops the request, never sends it as complete
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error("the Deepgram recording is closed");
  }

  private open(): PassThrough {
    if (this.body) return this.body;
    const body = new PassThrough({ highWaterMark: this.highWaterMark });
    this.body = body;
    this.answer = this.start(body, this.abort.signal);
    this.answer.catch((err: unknown) => {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      // Refused or failed: stop sending at once (the HTTP client drops the connection).
      this.abort.abort(err);
      body.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    return body;
  }
}
