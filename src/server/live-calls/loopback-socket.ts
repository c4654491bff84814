/**
 * An in-process socket for a `LiveSession` fed by a telephony ingress (AudioHook, Twilio): the
 * ingress writes audio and control frames as a Deepgram client would, so a live call runs through
 * exactly the code `/v1/listen` runs (decoding, resampling, engine streams, endpointing, flow
 * control). What the session sends comes back through its `tap`, not through this socket.
 */
import { EventEmitter } from "node:events";
import type { RawData } from "ws";
import type { ListenSocket } from "../speech/live-session";

/** `ListenSocket` without a network: frames in by method call, close reported to the owner. */
export class LoopbackSocket extends EventEmitter implements ListenSocket {
  readonly OPEN = 1;
  readonly CONNECTING = 0;
  private state = 1;
  /** Close code and reason the session closed with (1000: after CloseStream). */
  closed?: { code: number; reason: string };

  /** @param flow called when the session pauses or resumes reading (engines behind real time) */
  constructor(private readonly flow: { pause(): void; resume(): void } = { pause() {}, resume() {} }) {
    super();
  }

  get readyState(): number {
    return this.state;
  }

  /** Hand the session one binary (audio) or text (JSON control) frame. Ignored once closed. */
  deliver(data: Uint8Array | string): void {
    if (this.state !== this.OPEN) return;
    const isBinary = typeof data !== "string";
    this.emit("message", (isBinary ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data, "utf8")) as RawData, isBinary);
  }

  /** Results go through the session's tap; nothing to do here. */
  send(_data: string): void {}

  close(code = 1000, reason = ""): void {
    if (this.state !== this.OPEN) return;
    this.state = 3;
    this.closed = { code, reason };
    queueMicrotask(() => this.emit("close", code));
  }

  pause(): void {
    this.flow.pause();
  }

  resume(): void {
    this.flow.resume();
  }
}
