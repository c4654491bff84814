/**
 * The transcription session: audio frames → live stream to the speech server → interim and
 * final text → `fdc3.transcript` → SaveTranscript. One session at a time.
 *
 * A Deepgram model is reached through our server (relay, the default) or, in direct mode,
 * straight at Deepgram with a short-lived token our server grants for each session start
 * (`direct-grant.ts`); the browser never holds a Deepgram key.
 *
 * A call whose audio the telephony platform streams to the server (AudioHook, Twilio, a softphone's
 * multichannel `/v1/listen`, issue 8) is not captured here: the session attaches to the call's
 * live results (`call-stream.ts`, `GET /v1/calls/:id/live`) and opens no microphone; without such
 * a stream it falls back to local capture and says so. Local capture is the microphone, a browser
 * tab, or both as two channels (`channels.ts`).
 *
 * Framework- and FDC3-free: the audio source, the speech server address, validation and the
 * save step are injected, so the same controller runs in the browser (microphone, FDC3 agent)
 * and in Node tests (audio from a WAV file, the real speech server, the real SDK).
 */
import type { Contact, Segment, Transcript } from "../../../contexts/types";
import { parseListenMessage } from "./listen-messages";
import { openListenConnection, type ListenConnection, type ListenConnectionOptions } from "./listen-connection";
import { DirectGrantError, requestDirectGrant, type ConnectionMode } from "./direct-grant";
import { canTransition, isActive, transition, type SessionEvent, type SessionStatus } from "./state";
import { mergeContacts, type StartRequest } from "./start-request";
import { SaveCancelledError, type SaveOutcome } from "./save-outcome";
export { SaveCancelledError, type SaveOutcome } from "./save-outcome";
import { TranscriptAccumulator, type ProviderInfo } from "./transcript-builder";
import { isSpeechServerReachable, unreachableMessage } from "./reachability";
import { NoLiveCallError, openLiveCallConnection, type LiveCallConnection, type LiveCallInfo } from "./call-stream";
import { captureChannels, captureParties, partiesFromCall, type AudioSource, type CaptureSource, type ChannelParty } from "./channels";

export type { AudioSource, CaptureSource, ChannelParty } from "./channels";
export { CAPTURE_SOURCES } from "./channels";

/** A running audio capture. */
export interface AudioCapture {
  /** Stop capturing; every frame captured is delivered before this resolves. */
  stop(): Promise<unknown>;
  /** Description for the UI, e.g. the microphone's label. */
  label?: string;
}

/** Callbacks an audio source reports to. */
export interface AudioSink {
  /**
   * One frame of 16 kHz PCM16 (100 ms; the last may be shorter): mono, or with `channels` > 1
   * interleaved (`c0 c1 c0 c1 …`).
   */
  onFrame: (pcm: Int16Array) => void;
  /** The source stopped by itself (end of file, device gone): the session stops normally. */
  onEnded: () => void;
  /** The source failed: the session ends in `error`. */
  onError: (error: Error) => void;
}

/** What {@link OpenAudio} is asked to capture. */
export interface OpenAudioOptions {
  source: CaptureSource;
  /** Interleaved channels expected in each frame ({@link captureChannels} of `source`). */
  channels: number;
}

/** Opens the audio source: the microphone (or a tab, or both) in the browser, a file in tests. */
export type OpenAudio = (sink: AudioSink, options: OpenAudioOptions) => Promise<AudioCapture>;

/** Why a transcript was not saved although nothing failed. */
export type NotSavedReason = "cancelled" | "nothing-said";

/**
 * What the UI shows about the save step. `not-saved`: the user closed the app picker
 * (`cancelled`; the transcript can be saved again), or the session heard no words
 * (`nothing-said`; SaveTranscript is not raised for an empty transcript).
 */
export type SaveState =
  | { state: "saving" }
  | ({ state: "saved" } & SaveOutcome)
  | { state: "failed"; error: string }
  | { state: "not-saved"; reason: NotSavedReason };


/** Injected dependencies. */
export interface ControllerDeps {
  openAudio: OpenAudio;
  /** Speech server origin, e.g. `location.origin`. */
  speechBaseUrl: string;
  /** Key for the speech server, if it needs one. */
  speechApiKey?: string;
  /**
   * Short-lived credential for the speech server, asked for at every session start when no
   * `speechApiKey` is given (the desktop's `listen` token, see `server-token.ts`); undefined: none.
   */
  speechToken?: () => Promise<string | undefined>;
  /** `fetch` for the direct-mode grant (`POST /v1/auth/grant`) and the reachability check (`GET /healthz`). Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Validates a context (the lead's `validateContext`). */
  validate: (value: unknown) => { valid: true } | { valid: false; error: string };
  /**
   * Raises SaveTranscript and resolves with the handler app and result; rejects on any failure,
   * with a {@link SaveCancelledError} when the user cancelled the app choice.
   */
  saveTranscript?: (transcript: Transcript) => Promise<SaveOutcome>;
  /** BCP 47 tag sent to the server. Default `en`. */
  language?: string;
  /** Clock, for `timeRange`. Default `new Date()`. */
  now?: () => Date;
  /** Id generator for `transcriptId`. Default `crypto.randomUUID()`. */
  newId?: () => string;
  /** Seconds to wait for the server's last frames after CloseStream (or a live call's `CallEnded`). Default 15. */
  finishTimeoutSeconds?: number;
  /**
   * A call session first looks for the call's own audio stream on the server (`GET
   * /v1/calls/:id/live`). Default true; false: always capture locally.
   */
  attachToCalls?: boolean;
  /** Seconds the server is asked to wait for a call's stream to start (`?wait=`). Default 5. */
  callStreamWaitSeconds?: number;
  /** Reconnection attempts of a live call's subscription after a drop. Default 5. */
  callStreamRetries?: number;
}

/** How a live call's subscription stands. */
export type CallStreamState = "live" | "reconnecting" | "interrupted" | "ended" | "lost";

/** Immutable view of the session for the UI (a new object on every change). */
export interface TranscriberSnapshot {
  status: SessionStatus;
  request?: StartRequest;
  participants: Contact[];
  /** Model picked in the engine picker for the next session (undefined: the server's default). */
  selectedModel?: string;
  /** Language picked for the next session (BCP 47), default the controller's `language` (en). */
  selectedLanguage: string;
  /** Connection mode picked for the next session; `direct` only applies to Deepgram models. Default `relay`. */
  selectedConnection: ConnectionMode;
  /** What the next session captures when it has no call stream. Default `microphone`. */
  selectedCapture: CaptureSource;
  /** Where the current or last session's audio comes from. */
  audioSource?: AudioSource;
  /** What the UI says about the audio source (e.g. that a call has no stream and the microphone is used). */
  audioNote?: string;
  /** The parties per channel (a live call, or a tab with the microphone); undefined: one speaker. */
  channels?: ChannelParty[];
  /** A live call's subscription. */
  callStream?: CallStreamState;
  /** Model the current or last session asked for (undefined: the server's default). */
  model?: string;
  /** Connection mode of the current or last session. */
  connection?: ConnectionMode;
  /** Direct mode failed to start (no grant, or Deepgram refused): the UI offers relay. */
  offerRelay?: boolean;
  /** Engine that answered (from Results `metadata.model_info`). */
  provider?: ProviderInfo;
  interim: string;
  segments: Segment[];
  finalText: string;
  /** The last session's transcript, once stopped. */
  transcript?: Transcript;
  /** Whether {@link transcript} holds no words (nothing was said): it is not offered for saving. */
  transcriptEmpty?: boolean;
  save?: SaveState;
  /** Last error, shown to the user. */
  error?: string;
  /** Refused contexts and other notices, newest last (at most 5). */
  notices: string[];
}

type Listener = () => void;

/** Least time between live transcripts sent for interim results alone, ms (finals are sent at once). */
const LIVE_INTERIM_INTERVAL_MS = 500;

/** Options of {@link TranscriberController.start}. */
export interface StartOptions {
  /** Server model; defaults to the snapshot's `selectedModel`, then the server's default. */
  model?: string;
  /** Defaults to the snapshot's `selectedConnection`. `direct` needs a Deepgram model. */
  connection?: ConnectionMode;
}

/** Runs one transcription session at a time. */
export class TranscriberController {
  private snapshot: TranscriberSnapshot;
  /** Language of the current or last session. */
  private sessionLanguage = "en";
  private readonly listeners = new Set<Listener>();
  private readonly liveListeners = new Set<(t: Transcript) => void>();
  private accumulator: TranscriptAccumulator | undefined;
  private connection: ListenConnection | undefined;
  private callStream: LiveCallConnection | undefined;
  private capture: AudioCapture | undefined;
  private startedAt: Date | undefined;
  private transcriptId = "";
  private stopping: Promise<Transcript> | undefined;
  private channelContact: Contact | undefined;
  private lastLiveAt = 0;
  private readonly deps: Required<Pick<ControllerDeps, "now" | "newId" | "language" | "finishTimeoutSeconds" | "callStreamWaitSeconds">> & ControllerDeps;

  constructor(deps: ControllerDeps) {
    this.deps = {
      now: () => new Date(),
      newId: () => crypto.randomUUID(),
      language: "en",
      finishTimeoutSeconds: 15,
      callStreamWaitSeconds: 5,
      ...deps,
    };
    this.snapshot = {
      status: "idle",
      participants: [],
      selectedLanguage: this.deps.language,
      selectedConnection: "relay",
      selectedCapture: "microphone",
      interim: "",
      segments: [],
      finalText: "",
      notices: [],
    };
    this.sessionLanguage = this.deps.language;
  }

  /** For React's `useSyncExternalStore`. */
  getSnapshot = (): TranscriberSnapshot => this.snapshot;

  /** Subscribe to snapshot changes; returns the unsubscribe function. */
  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /**
   * Subscribe to live transcripts: called with the transcript so far after each final result and,
   * at most every 500 ms, as interim results change (then `text` ends with the interim
   * hypothesis; `segments` hold finals only); and with the final transcript when the session
   * stops. Every one is validated first. Returns the unsubscribe function.
   */
  onLiveTranscript(listener: (t: Transcript) => void): () => void {
    this.liveListeners.add(listener);
    return () => this.liveListeners.delete(listener);
  }

  /** The call id of the running (or last) session. */
  get callId(): string | undefined {
    return this.snapshot.request?.callId;
  }

  /** Whether a session is starting, listening or stopping. */
  get active(): boolean {
    return isActive(this.snapshot.status);
  }

  /** Add participants to the running session (e.g. from the call's update on the user channel). */
  addParticipants(contacts: readonly Contact[]): void {
    if (!this.active || contacts.length === 0) return;
    this.update({ participants: mergeContacts(this.snapshot.participants, contacts) });
  }

  /**
   * An `fdc3.contact` seen on the user channel: a participant of the running session, and the
   * subject of the next dictation started without a contact of its own.
   */
  contactSeen(contact: Contact): void {
    this.channelContact = contact;
    this.addParticipants([contact]);
  }

  /** Pick the model for the next session; undefined or empty for the server's default. */
  selectModel(model: string | undefined): void {
    this.update({ selectedModel: model || undefined });
  }

  /** Pick the language for the next session (BCP 47, e.g. `en`, `de`); empty for the default. */
  selectLanguage(language: string | undefined): void {
    this.update({ selectedLanguage: language || this.deps.language });
  }

  /**
   * Pick how the next session reaches a Deepgram model: `relay` (through our server) or `direct`
   * (a token from our server, then straight to Deepgram). Picking clears the offer to use relay.
   */
  selectConnection(mode: ConnectionMode): void {
    this.update({ selectedConnection: mode === "direct" ? "direct" : "relay", offerRelay: false });
  }

  /** Pick what the next session captures locally: the microphone, a browser tab, or both (two channels). */
  selectCapture(source: CaptureSource): void {
    this.update({ selectedCapture: source === "tab" || source === "tab+microphone" ? source : "microphone" });
  }

  /** Show a notice (a refused context, a recoverable problem). Never throws. */
  notice(message: string): void {
    this.update({ notices: [...this.snapshot.notices, message].slice(-5) });
  }

  /**
   * Start a session. A call with an id first looks for the call's own stream on the server
   * (waiting `callStreamWaitSeconds` for it to start): found, the session follows it and opens no
   * audio; not found, it captures locally like a dictation and `audioNote` says so. Local capture
   * opens the live stream, then the audio (so no audio is lost), and streams.
   * @throws Error when a session is already active, or the server or audio cannot be opened
   *   (the status is then `error` with the message)
   */
  async start(request: StartRequest, options: StartOptions = {}): Promise<void> {
    if (this.active) {
      const what = this.snapshot.request?.callId ? `call ${this.snapshot.request.callId}` : "a dictation";
      throw new Error(`already transcribing ${what}; stop it first`);
    }
    this.stopping = undefined;
    const model = options.model ?? this.snapshot.selectedModel;
    const mode = options.connection ?? this.snapshot.selectedConnection;
    const capture = this.snapshot.selectedCapture;
    this.sessionLanguage = this.snapshot.selectedLanguage;
    this.transcriptId = this.deps.newId();
    const accumulator = new TranscriptAccumulator({
      channelSpeakers: [request.source === "call" ? "agent" : "speaker 1"],
      // Direct: Deepgram answers itself, under its own model names; say which engine and model we asked for.
      ...(mode === "direct" && model ? { provider: { name: "deepgram", model } } : {}),
    });
    this.accumulator = accumulator;
    this.fire("start", {
      request,
      participants:
        request.source === "dictation" && request.participants.length === 0 && this.channelContact
          ? [this.channelContact]
          : mergeContacts(request.participants),
      model,
      connection: mode,
      offerRelay: false,
      provider: accumulator.providerInfo,
      audioSource: undefined,
      audioNote: undefined,
      channels: undefined,
      callStream: undefined,
      interim: "",
      segments: [],
      finalText: "",
      transcript: undefined,
      transcriptEmpty: undefined,
      save: undefined,
      error: undefined,
    });
    try {
      const serverKey = async () => this.deps.speechApiKey ?? (await this.deps.speechToken?.());
      if (request.source === "call" && request.callId && this.deps.attachToCalls !== false) {
        if (await this.attachToCall(accumulator, request, request.callId, await serverKey(), capture)) return;
      }
      const target: Pick<ListenConnectionOptions, "baseUrl" | "apiKey" | "accessToken" | "serverLabel"> =
        mode === "direct" ? await this.directTarget(model) : { baseUrl: this.deps.speechBaseUrl, apiKey: await serverKey() };
      if (accumulator !== this.accumulator || this.snapshot.status !== "starting") throw new Error(this.snapshot.error ?? "transcription was cancelled while starting");
      const channels = captureChannels(capture);
      const parties = captureParties(capture);
      if (parties) accumulator.setChannels(parties.map((p) => p.name), true);
      this.update({ audioSource: capture, ...(parties && { channels: parties }) });
      const open = openListenConnection(
        { ...target, model, language: this.sessionLanguage, channels },
        {
          onMessage: (frame) => this.onFrame(accumulator, frame),
          onClose: ({ code, reason, expected }) => {
            if (!expected && accumulator === this.accumulator && this.active) {
              void this.abort(`the ${target.serverLabel ?? "speech server"} at ${target.baseUrl} closed the stream (code ${code}${reason ? `: ${reason}` : ""})`);
            }
          },
          onError: (error) => {
            if (accumulator === this.accumulator && this.snapshot.status === "listening") void this.abort(`speech stream error: ${error.message}`);
          },
        },
      );
      // The browser says only "closed" when nothing listens there: find out which it is.
      this.connection = await open.catch(async (err: unknown) => {
        if (mode !== "direct" && !(await isSpeechServerReachable(target.baseUrl, this.deps.fetch))) throw new Error(unreachableMessage(target.baseUrl));
        throw err;
      });
      const connection = this.connection;
      this.startedAt = this.deps.now(); // audio time 0 is (about) when the source opens
      this.capture = await this.deps.openAudio(
        {
          onFrame: (pcm) => connection.sendAudio(pcm),
          onEnded: () => {
            if (accumulator === this.accumulator && this.snapshot.status === "listening") void this.stop().catch(() => undefined);
          },
          onError: (error) => {
            if (accumulator === this.accumulator && this.active) void this.abort(`audio capture failed: ${error.message}`);
          },
        },
        { source: capture, channels },
      );
      if (accumulator !== this.accumulator || this.snapshot.status !== "starting") {
        // The stream failed while the audio was opening (abort() ran before the capture existed).
        await this.capture?.stop().catch(() => undefined);
        this.capture = undefined;
        throw new Error(this.snapshot.error ?? "transcription was cancelled while starting");
      }
      this.fire("started", {});
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (accumulator === this.accumulator && this.snapshot.status !== "error") {
        await this.release();
        this.fire("fail", { error: message, ...(mode === "direct" && { offerRelay: true }) });
      }
      throw err instanceof Error ? err : new Error(message);
    }
  }

  /**
   * Follow the call's own stream on the server, if it has one (or gets one within
   * `callStreamWaitSeconds`). On success the session is `listening` with no local audio.
   * @returns false when there is no stream (the caller captures locally; `audioNote` says why)
   * @throws Error when the session was cancelled meanwhile
   */
  private async attachToCall(accumulator: TranscriptAccumulator, request: StartRequest, callId: string, apiKey: string | undefined, capture: CaptureSource): Promise<boolean> {
    const current = () => accumulator === this.accumulator;
    const instead = capture === "microphone" ? "using the microphone" : `using the ${capture === "tab" ? "browser tab" : "browser tab and the microphone"}`;
    let stream: LiveCallConnection;
    try {
      stream = await openLiveCallConnection(
        {
          baseUrl: this.deps.speechBaseUrl,
          callId,
          apiKey,
          waitSeconds: this.deps.callStreamWaitSeconds,
          ...(this.deps.callStreamRetries !== undefined && { maxRetries: this.deps.callStreamRetries }),
          ...(this.deps.fetch && { fetch: this.deps.fetch }),
        },
        {
          onMessage: (frame) => this.onFrame(accumulator, frame),
          onCall: (call) => current() && this.callDescribed(accumulator, request, call),
          onInterrupted: (reason) => {
            if (!current()) return;
            this.update({ callStream: "interrupted" });
            this.notice(`the call's audio stream dropped (${reason}); the transcript so far is kept`);
          },
          onEnded: (ended) => {
            if (!current()) return;
            this.update({ callStream: "ended" });
            if (ended.status === "failed") this.notice(`the call's stream ended with an error${ended.reason ? ` (${ended.reason})` : ""}; the transcript so far is kept`);
            if (this.snapshot.status === "listening") void this.stop().catch(() => undefined);
          },
          onReconnecting: (attempt, why) => {
            if (!current()) return;
            this.update({ callStream: "reconnecting" });
            if (attempt === 1) this.notice(`lost the call's live results (${why}); reconnecting`);
          },
          onReconnected: () => {
            if (!current() || this.snapshot.callStream !== "reconnecting") return;
            this.update({ callStream: "live" });
            this.notice("the call's live results resumed");
          },
          onInvalid: (message) => current() && this.notice(message),
          onError: (error) => {
            if (!current() || !this.active) return;
            this.update({ callStream: "lost" });
            this.notice(`${error.message}; the transcript so far is kept`);
            if (this.snapshot.status === "listening") void this.stop().catch(() => undefined);
          },
        },
      );
    } catch (err) {
      if (!current() || this.snapshot.status !== "starting") throw new Error(this.snapshot.error ?? "transcription was cancelled while starting");
      const why =
        err instanceof NoLiveCallError
          ? `no call audio stream from the telephony platform for this call; ${instead}`
          : `could not follow the call's audio stream on the server (${err instanceof Error ? err.message : String(err)}); ${instead}`;
      this.update({ audioNote: why });
      this.notice(why);
      return false;
    }
    if (!current() || this.snapshot.status !== "starting") {
      stream.close();
      throw new Error(this.snapshot.error ?? "transcription was cancelled while starting");
    }
    this.callStream = stream;
    this.callDescribed(accumulator, request, stream.call);
    const startedAt = Date.parse(stream.call.started_at ?? "");
    // Result times count from the call's stream start.
    this.startedAt = Number.isFinite(startedAt) ? new Date(startedAt) : this.deps.now();
    this.fire("started", { audioSource: "call-stream", callStream: this.snapshot.callStream ?? "live", audioNote: `the call's own audio (${stream.call.source})` });
    // The call had already ended (the server answers CallStarted and CallEnded at once), or was lost while starting.
    if (this.snapshot.callStream === "ended" || this.snapshot.callStream === "lost") void this.stop().catch(() => undefined);
    return true;
  }

  /** `CallStarted` / `CallUpdated`: name the channels after the call's parties. */
  private callDescribed(accumulator: TranscriptAccumulator, request: StartRequest, call: LiveCallInfo): void {
    const parties = partiesFromCall(call, request.participants);
    accumulator.setChannels(
      parties.map((p) => p.name),
      true,
    );
    this.update({ channels: parties, segments: accumulator.segments });
  }

  /**
   * Where a direct-mode session connects: a fresh grant from our server (never cached: tokens
   * live ~30 s and only need to open the socket), then Deepgram's `base_url` with the token.
   * @throws DirectGrantError when there is no Deepgram model, no grant, or it expired already
   */
  private async directTarget(model: string | undefined): Promise<Pick<ListenConnectionOptions, "baseUrl" | "accessToken" | "serverLabel">> {
    if (!model) throw new DirectGrantError("direct mode needs a Deepgram model (e.g. nova-3); pick one, or use relay");
    const grant = await requestDirectGrant(this.deps.speechBaseUrl, { apiKey: this.deps.speechApiKey, fetchImpl: this.deps.fetch });
    if (Date.now() >= grant.expiresAt) throw new DirectGrantError(`direct mode: the Deepgram token expired before the connection opened (expires_in ${grant.expiresIn} s); try again, or use relay`);
    return { baseUrl: grant.baseUrl, accessToken: grant.accessToken, serverLabel: "Deepgram" };
  }

  /**
   * Stop the session: stop the audio (its last frames are sent), `Finalize` + `CloseStream`,
   * wait for the last Results and Metadata, build and validate the `fdc3.transcript`. Then,
   * if a save step was given, SaveTranscript runs in the background (see `save` in the snapshot).
   * Calling it again while stopping returns the same promise.
   * @returns the final transcript
   * @throws Error when no session is active, or the transcript fails validation (status `error`)
   */
  stop(): Promise<Transcript> {
    if (this.stopping) return this.stopping;
    if (!this.active) return Promise.reject(new Error("no transcription is running"));
    this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<Transcript> {
    if (this.snapshot.status === "starting") {
      // The call ended while opening: wait for start() to settle first.
      await new Promise<void>((resolve) => {
        const off = this.subscribe(() => {
          if (this.snapshot.status !== "starting") {
            off();
            resolve();
          }
        });
      });
      if ((this.snapshot.status as SessionStatus) !== "listening") throw new Error(`transcription did not start: ${this.snapshot.error ?? this.snapshot.status}`);
    }
    this.fire("stop", {});
    const accumulator = this.accumulator!;
    try {
      await this.capture?.stop();
      const result = await this.connection?.finish(this.deps.finishTimeoutSeconds * 1000);
      if (result?.timedOut) this.notice(`speech server sent no close within ${this.deps.finishTimeoutSeconds} s; the transcript may miss its last words`);
    } catch (err) {
      this.notice(`stopping: ${err instanceof Error ? err.message : String(err)}`);
    }
    const serverTranscript = await this.finishCallStream(accumulator);
    this.capture = undefined;
    this.connection = undefined;
    // What the user last saw is what gets saved: an interim the server never finalised stays.
    if (accumulator.finish({ keepInterim: true }) && !serverTranscript) this.notice("the speech server sent no final result for the last words; they are kept as shown");
    const transcript = serverTranscript ?? this.buildTranscript(accumulator);
    const check = this.deps.validate(transcript);
    if (!check.valid) {
      this.fire("fail", { interim: "", segments: accumulator.segments, finalText: accumulator.finalText, error: `transcript failed validation: ${check.error}` });
      throw new Error(`transcript failed validation: ${check.error}`);
    }
    const empty = isEmptyTranscript(transcript);
    this.fire("stopped", {
      interim: "",
      segments: transcript.segments ?? [],
      finalText: transcript.text,
      transcript,
      transcriptEmpty: empty,
      // Nothing was said (e.g. hung up before anyone spoke): say so instead of asking where to save nothing.
      ...(empty && { save: { state: "not-saved", reason: "nothing-said" } }),
    });
    this.emitLive(transcript);
    if (this.deps.saveTranscript && !empty) void this.save(transcript);
    return transcript;
  }

  /**
   * A live call's end: wait (up to the finish timeout) for `CallEnded` and take the server's
   * final transcript from it when it is valid, with the session's call id and participants where
   * it lacks them. After a failed stream the server's transcript is taken only when it holds at
   * least the words received live (what the user saw is never lost).
   * @returns the server's transcript; undefined without a call stream, or when none came (the
   *   session's own, accumulated from the live results, is saved then)
   */
  private async finishCallStream(accumulator: TranscriptAccumulator): Promise<Transcript | undefined> {
    const stream = this.callStream;
    if (!stream) return undefined;
    const ended = await stream.waitForEnd(this.deps.finishTimeoutSeconds * 1000);
    stream.close();
    this.callStream = undefined;
    if (!ended) {
      if (this.snapshot.callStream !== "lost") this.notice(`the call's stream did not end within ${this.deps.finishTimeoutSeconds} s; the transcript received so far is kept`);
      return undefined;
    }
    if (ended.transcript === undefined) return undefined;
    const check = this.deps.validate(ended.transcript);
    if (!check.valid) {
      this.notice(`the server's final transcript of the call is invalid (${check.error}); the one received live is kept`);
      return undefined;
    }
    const t = ended.transcript as Transcript;
    const words = (segments: readonly Segment[] | undefined) => (segments ?? []).reduce((n, seg) => n + seg.text.split(/\s+/).filter(Boolean).length, 0);
    if (ended.status === "failed" && words(t.segments) < words(accumulator.segments)) {
      this.notice("the server's transcript of the failed stream holds fewer words than were received live; the live one is kept");
      return undefined;
    }
    const callId = this.snapshot.request?.callId;
    const participants = this.snapshot.participants;
    return {
      ...t,
      id: { ...t.id, ...(callId && !t.id.callId && { callId }) },
      ...(!t.participants?.contacts?.length && participants.length > 0 && { participants: { type: "fdc3.contactList", contacts: participants } }),
    };
  }

  /**
   * Raise SaveTranscript for the stopped session's transcript and record the outcome.
   * Never rejects: failures end in status `error` with `save.state` `failed`.
   */
  async save(transcript: Transcript = this.snapshot.transcript!): Promise<SaveState> {
    if (!this.deps.saveTranscript) return this.setSave({ state: "failed", error: "no SaveTranscript handler is configured" }, "fail");
    if (!transcript) return this.setSave({ state: "failed", error: "nothing to save" }, "fail");
    if (isEmptyTranscript(transcript)) return { state: "not-saved", reason: "nothing-said" };
    if (!canTransition(this.snapshot.status, "save")) return this.snapshot.save ?? { state: "failed", error: `cannot save while ${this.snapshot.status}` };
    // A new attempt: the last attempt's error no longer applies.
    this.fire("save", { save: { state: "saving" }, error: undefined });
    try {
      const outcome = await this.deps.saveTranscript(transcript);
      if (this.snapshot.transcript !== transcript) {
        // A new session started meanwhile: report, but leave its status alone.
        this.notice(`earlier transcript ${transcript.id.transcriptId}: ${outcome.appId} answered ${outcome.status}`);
        return { state: "saved", ...outcome };
      }
      if (outcome.status === "Failed") {
        return this.setSave({ state: "failed", error: `${outcome.appId}: Failed${outcome.message ? ` (${outcome.message})` : ""}` }, "fail");
      }
      return this.setSave({ state: "saved", ...outcome }, "saved");
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      const cancelled = err instanceof SaveCancelledError || (err instanceof Error && err.name === "SaveCancelledError");
      if (this.snapshot.transcript !== transcript) {
        this.notice(`earlier transcript ${transcript.id.transcriptId} not saved: ${cancelled ? "the app choice was cancelled" : error}`);
        return cancelled ? { state: "not-saved", reason: "cancelled" } : { state: "failed", error };
      }
      if (cancelled) return this.setSave({ state: "not-saved", reason: "cancelled" }, "unsaved");
      return this.setSave({ state: "failed", error }, "fail");
    }
  }

  /** Record the save outcome; only a failure leaves an error, anything else clears the last one. */
  private setSave(save: SaveState, event: SessionEvent): SaveState {
    this.fire(event, { save, error: save.state === "failed" ? `save failed: ${save.error}` : undefined });
    return save;
  }

  /** End the session on an error: release audio and socket, keep the text so far. */
  private async abort(message: string): Promise<void> {
    this.fire("fail", { error: message, interim: "" });
    await this.release();
  }

  private async release(): Promise<void> {
    const capture = this.capture;
    const connection = this.connection;
    const stream = this.callStream;
    this.capture = undefined;
    this.connection = undefined;
    this.callStream = undefined;
    connection?.abort();
    stream?.close();
    await capture?.stop().catch(() => undefined);
  }

  private onFrame(accumulator: TranscriptAccumulator, frame: unknown): void {
    if (accumulator !== this.accumulator) return; // a late frame of an earlier session
    const parsed = parseListenMessage(frame);
    if (!parsed.ok) {
      if (!parsed.ignored) this.notice(parsed.error);
      return;
    }
    const change = accumulator.handle(parsed.message);
    if (change === "none" || change === "speech-started") return;
    this.update({
      interim: accumulator.interim,
      segments: accumulator.segments,
      finalText: accumulator.finalText,
      provider: accumulator.providerInfo ?? this.snapshot.provider,
    });
    if (this.snapshot.status !== "listening") return;
    const now = Date.now();
    const final = change === "final" || change === "segment-closed";
    if (final || (change === "interim" && now - this.lastLiveAt >= LIVE_INTERIM_INTERVAL_MS)) {
      this.lastLiveAt = now;
      this.emitLive(this.buildTranscript(accumulator, true));
    }
  }

  /**
   * The transcript so far. With `live`, `text` ends with the current interim hypothesis so a
   * live view reads naturally; `segments` always hold final results only.
   */
  private buildTranscript(accumulator: TranscriptAccumulator, live = false): Transcript {
    const request = this.snapshot.request!;
    const transcript = this.buildFinalTranscript(accumulator, request);
    if (live && accumulator.interim) transcript.text = transcript.text ? `${transcript.text} ${accumulator.interim}` : accumulator.interim;
    return transcript;
  }

  private buildFinalTranscript(accumulator: TranscriptAccumulator, request: StartRequest): Transcript {
    return accumulator.toTranscript({
      transcriptId: this.transcriptId,
      ...(request.callId && { callId: request.callId }),
      source: request.source,
      language: this.sessionLanguage,
      participants: this.snapshot.participants,
      ...(this.startedAt && { startTime: this.startedAt.toISOString() }),
      ...(this.snapshot.status !== "listening" && { endTime: this.deps.now().toISOString() }),
    });
  }

  private emitLive(transcript: Transcript): void {
    const check = this.deps.validate(transcript);
    if (!check.valid) {
      this.notice(`live transcript not sent: ${check.error}`);
      return;
    }
    for (const listener of this.liveListeners) {
      try {
        listener(transcript);
      } catch (err) {
        this.notice(`live update failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private fire(event: SessionEvent, patch: Partial<TranscriberSnapshot>): void {
    this.update({ ...patch, status: transition(this.snapshot.status, event) });
  }

  private update(patch: Partial<TranscriberSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }
}

/** Whether a transcript holds no words: no segment with text (silence, or hung up before anyone spoke). */
export function isEmptyTranscript(transcript: Transcript): boolean {
  return transcript.text.trim() === "" && !(transcript.segments ?? []).some((seg) => seg.text.trim() !== "");
}
