/**
 * Live calls (issue 8, DESIGN §1 and §9): a call whose audio streams into the server from the
 * telephony side (Genesys AudioHook, Twilio Media Streams, or a softphone's multichannel
 * `/v1/listen` with `extra=call_id:<id>`), one engine session per channel, results published per
 * call id to any subscriber (`GET /v1/calls/:id/live`), the final `fdc3.transcript` stored
 * encrypted and analysed when the stream ends.
 *
 * Subscribers (`GET /v1/calls/:id/live`, server-sent events, API key or a `listen` token): one SSE
 * event per {@link LiveCallEvent}: `id: <seq>`, `event: <type>`, `data: <the event as JSON>`;
 * `?wait=<s>` (0–30, default 10) waits that long for a call that has not started yet (else 404
 * `NO_LIVE_CALL`); `Last-Event-ID` (or `?after=<seq>`) resumes after an event; a `: keep-alive`
 * comment every 15 s; the response ends after `CallEnded`, whose `transcript` is the stored
 * final `fdc3.transcript` (both channels' segments, speakers named, analysis filled in). A call
 * that already ended answers `CallStarted` and `CallEnded` at once.
 *
 * Channel convention (the recorded-call convention): channel 0 = agent (AudioHook `internal`,
 * Twilio `outbound`), channel 1 = customer (AudioHook `external`, Twilio `inbound`).
 */
import type { ResultsMessage, UtteranceEndMessage } from "../speech/protocol";
import type { Transcript } from "../../contracts";
import type { RecordingReady } from "../store/model";

/** Which ingress a live call's audio arrives through. */
export type LiveCallSource = "audiohook" | "twilio" | "listen";

/** Channel index of the agent. */
export const AGENT_CHANNEL = 0;
/** Channel index of the customer. */
export const CUSTOMER_CHANNEL = 1;

/**
 * What is known of a live call: the same shape as a recording-ready webhook body without the
 * recording URL, so the recorded-call helpers (speaker names, participants) apply unchanged.
 * `participants[].role` is `agent` or `customer`; `phone_number` is the remote party's number.
 */
export type LiveCallMetadata = Omit<RecordingReady, "recording_url" | "crm"> & {
  /** The remote party's number (AudioHook `participant.ani`, Twilio `from`), E.164 preferred. */
  phone_number?: string;
  /** The number that was dialled (AudioHook `participant.dnis`, Twilio `to`). */
  dialled_number?: string;
};

/** The start of a live call's stream, as an ingress adapter reports it. */
export interface LiveCallStart {
  callId: string;
  source: LiveCallSource;
  metadata: LiveCallMetadata;
}

/** A live call as subscribers see it. */
export interface LiveCallSummary {
  call_id: string;
  source: LiveCallSource;
  /** Speaker name per channel (index = channel), e.g. `["Alice Agent", "Bob Customer"]`. */
  speakers: string[];
  /** Role per channel, `agent` / `customer`. */
  roles: string[];
  metadata: LiveCallMetadata;
  /** ISO 8601 time the stream started. */
  started_at: string;
}

/**
 * Events of one live call, in order; every one carries the call's `seq` (1, 2, …) when published.
 * - `CallStarted` first (and again as `CallUpdated` when participants change);
 * - Deepgram-shaped `Results` (interim and final, `channel_index: [c, 2]`) and `UtteranceEnd`;
 * - `StreamInterrupted`: the ingress stopped sending without closing (the call is kept);
 * - `CallEnded` last: `status` done (transcript stored) or failed with the reason.
 */
export type LiveCallEvent =
  | { type: "CallStarted"; call: LiveCallSummary }
  | { type: "CallUpdated"; call: LiveCallSummary }
  | ResultsMessage
  | UtteranceEndMessage
  | { type: "StreamInterrupted"; reason: string }
  | { type: "CallEnded"; status: "done" | "failed"; reason?: string; transcript?: Transcript };

/** A published event with its position in the call's event stream. */
export interface SequencedEvent {
  seq: number;
  event: LiveCallEvent;
}

/** Thrown by `LiveCallHub.begin` when the call id already streams (here or on another server process). */
export class CallAlreadyStreamingError extends Error {
  constructor(readonly callId: string) {
    super(`call ${callId} is already streaming: one stream per call id`);
    this.name = "CallAlreadyStreamingError";
  }
}

/** Thrown when the server has no room for the call's live channels (admission, see `speech/admission.ts`). */
export class LiveCallCapacityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LiveCallCapacityError";
  }
}

/**
 * The audio an ingress adapter writes: interleaved frames in channel order (channel 0 = agent,
 * channel 1 = customer), e.g. PCMU 8000 Hz, 2 channels = bytes `A C A C …`. An adapter whose
 * wire order differs (AudioHook offers `["external","internal"]`) reorders before writing.
 */
export interface CallAudioFormat {
  encoding: "mulaw" | "alaw" | "linear16";
  /** Hz (8000 for telephony). */
  sampleRate: number;
  /** Interleaved channels (2: agent, customer). */
  channels: number;
}

/**
 * One live call's transcription, owned by the ingress adapter that streams its audio
 * (`LiveCallHub.openCall`). Engine sessions, results publishing, storage and analysis are the
 * hub's; the adapter only moves bytes and says how the stream ended.
 */
export interface CallTranscription {
  readonly callId: string;
  /** Interleaved audio in the opened format and channel order. Ignored after end/interrupt. */
  write(bytes: Uint8Array): void;
  /** Called with every event the call publishes (Results, UtteranceEnd, CallUpdated, CallEnded…), in order. */
  onEvent(listener: (event: LiveCallEvent) => void): () => void;
  /** Participants or numbers changed (AudioHook `update`): merged into the metadata, `CallUpdated` published. */
  updateMetadata(patch: Partial<LiveCallMetadata>): void;
  /**
   * Flow control from the engines: `pause` when the engines are behind (stop reading the wire
   * socket), `resume` when they caught up. Set by the adapter; default no-op.
   */
  setFlowControl(control: { pause(): void; resume(): void }): void;
  /** The stream closed properly (AudioHook close, Twilio stop): flush the engines, store the transcript, `CallEnded` done. */
  end(): Promise<void>;
  /**
   * The stream stopped without a proper close (socket dropped, timeout, bad input): flush what
   * was received, store the transcript so far, publish `StreamInterrupted` and `CallEnded`
   * (status failed with `reason`, transcript kept).
   */
  interrupt(reason: string): Promise<void>;
}
