/**
 * The `/v1/listen` routes: WebSocket (live) and POST (pre-recorded), speaking Deepgram's protocol.
 * Registered by `app.ts` inside its own Fastify context, so the catch-all body parser below applies
 * to these routes only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { LISTEN_ROUTE_AUTH } from "../auth";
import { errorBody } from "../errors";
import { AudioTooLongError } from "./audio/engine-audio";
import { DEFAULT_MAX_AUDIO_SECONDS } from "./audio/limits";
import { ChannelAdmission, defaultMaxLiveChannels, type ChannelLease } from "./admission";
import { AudioDecodeError } from "./audio/pcm";
import type { SpeechEngine } from "./engines/engine";
import { ModelUnavailableError, type EngineResolver } from "./engines/registry";
import { LiveSession, CloseCode, closeReason, type LiveFlowLimits } from "./live-session";
import type { ModelInfo } from "./protocol";
import { parseListenQuery } from "./query";
import { transcribeRecording } from "./prerecorded";
import type { LiveCall, LiveCallHub } from "../live-calls/hub";
import { describeOutcome, listenCallStart } from "../live-calls/listen-call";
import type { ServerMessage } from "./protocol";

/** What the routes need from the server. */
export interface ListenRoutesOptions {
  /** Resolves `model=` to an engine (the registry, or a single engine wrapped with `EngineRegistry.single`). */
  engines: EngineResolver;
  /** Live sessions in progress; sessions add and remove themselves. */
  sessions: Set<LiveSession>;
  /** Close a live session after this long without client frames, ms. */
  idleTimeoutMs: number;
  /** Longest engine flush on Finalize/CloseStream before the session fails, ms. */
  flushTimeoutMs: number;
  /** Largest accepted POST body, bytes. */
  maxBodyBytes: number;
  /** Longest accepted pre-recorded audio, seconds (`CALLSCRIBE_MAX_AUDIO_SECONDS`), per channel; channel-seconds up to twice that (`audio/limits.ts`). Default 14 400 (4 h). */
  maxAudioSeconds?: number;
  /** Live channels admitted at once; the rest are refused with 503 before the handshake. Default: `defaultMaxLiveChannels()`. */
  admission?: ChannelAdmission;
  /** Most channels one live session may transcribe (`multichannel=true`); more closes with 1008. Default `MAX_CHANNELS_PER_SESSION`. */
  maxChannelsPerSession?: number;
  /** How far ahead of real time a live client may send. Default `DEFAULT_FLOW_LIMITS`. */
  flow?: LiveFlowLimits;
  /** Live calls: a live session with `extra=call_id:<id>` feeds that call (`live-calls/`). Unset: `call_id` is only echoed. */
  liveCalls?: LiveCallHub;
}

/**
 * Default cap on channels per live session. Telephony needs 2 (agent and customer); 8 covers a
 * conference bridge's split tracks while keeping one socket from taking a small server's whole
 * channel budget (Deepgram itself limits concurrency per project, not channels per stream).
 */
export const MAX_CHANNELS_PER_SESSION = 8;

/** Seconds a client refused for capacity is told to wait (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 5;

/** Channel leases taken before the handshake, handed to the session the upgrade creates. */
const leases = new WeakMap<FastifyRequest, ChannelLease>();

/** Deepgram-style error body (the server's one shape, `../errors.ts`). */
export { errorBody } from "../errors";

type Query = Record<string, string | string[] | undefined>;

type Resolved = { ok: true; engine: SpeechEngine; model: { uuid: string; info: ModelInfo }; requested?: string } | { ok: false; message: string };

/** The engine for the query's `model` (the last one when repeated); a refusal names the available models. */
function resolveModel(engines: EngineResolver, query: Query): Resolved {
  const raw = query.model;
  const requested = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  try {
    const { engine, identity } = engines.resolve(requested === "" ? undefined : requested);
    return { ok: true, engine, model: identity, requested };
  } catch (err) {
    if (err instanceof ModelUnavailableError) {
      return { ok: false, message: `Invalid value "${String(requested).slice(0, 40)}" for query parameter model: ${err.message}.` };
    }
    throw err;
  }
}

/** The engine as the query validator sees it: it answers to the name the client used. */
function validatorView(r: Extract<Resolved, { ok: true }>): Pick<SpeechEngine, "name" | "model" | "languages"> {
  return { name: r.requested ?? r.engine.name, model: r.engine.model, languages: r.engine.languages };
}

/** The close reason for a session that asks to transcribe more channels than allowed. */
export function tooManyChannels(channels: number, max: number): string {
  return `multichannel=true with ${channels} channels: at most ${max} channels per session are transcribed (downmix with multichannel=false)`;
}

/** Fastify plugin: `GET /v1/listen` (WebSocket upgrade) and `POST /v1/listen`. */
export async function listenRoutes(app: FastifyInstance, opts: ListenRoutesOptions): Promise<void> {
  const { engines, sessions } = opts;
  const admission = opts.admission ?? new ChannelAdmission(defaultMaxLiveChannels());
  const maxChannelsPerSession = opts.maxChannelsPerSession ?? MAX_CHANNELS_PER_SESSION;

  // Audio arrives as application/octet-stream (the SDK), audio/wav, audio/flac, or anything else: keep the bytes.
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: opts.maxBodyBytes }, (_req, body, done) => done(null, body));

  /**
   * Admission, before the WebSocket handshake: a session takes as many channels as it will transcribe
   * (`channels` with `multichannel=true`, else 1). A query that is invalid or asks for too many
   * channels takes none: the handler then closes it with 1008 and the reason.
   */
  const admit = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!(request as FastifyRequest & { ws?: boolean }).ws) return;
    const resolved = resolveModel(engines, request.query as Query);
    if (!resolved.ok) return;
    const parsed = parseListenQuery(request.query as Query, "live", validatorView(resolved));
    if (!parsed.ok) return;
    const wanted = parsed.options.multichannel ? parsed.options.channels : 1;
    if (wanted > maxChannelsPerSession) return;
    const lease = admission.tryAdmit(wanted);
    if (!lease) {
      const { inUse, limit } = admission;
      request.log.info({ channels: wanted, inUse, limit }, "live request refused: at capacity");
      return reply
        .code(503)
        .header("retry-after", String(RETRY_AFTER_SECONDS))
        .send(
          errorBody(
            request,
            "TOO_MANY_LIVE_CHANNELS",
            `The server is at capacity: ${inUse} of ${limit} live channels are in use and this session needs ${wanted}. Try again later.`,
          ),
        );
    }
    leases.set(request, lease);
    // A client that leaves during the handshake never reaches the handler: give the channels back then.
    request.raw.socket.once("close", () => {
      if (leases.get(request) === lease) lease.release();
    });
  };

  app.route({
    method: "GET",
    url: "/v1/listen",
    preValidation: admit,
    config: { auth: LISTEN_ROUTE_AUTH },
    // A plain GET is not an upgrade: tell the client what to do.
    handler: async (request: FastifyRequest, reply: FastifyReply) =>
      reply.code(426).header("upgrade", "websocket").send(errorBody(request, "UPGRADE_REQUIRED", "GET /v1/listen is a WebSocket endpoint: open it with a WebSocket client.")),
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      const lease = leases.get(request);
      leases.delete(request); // from here on the session (or the refusal below) owns the channels
      const refuse = (code: number, reason: string) => {
        lease?.release();
        socket.close(code, closeReason(reason));
      };
      const resolved = resolveModel(engines, request.query as Query);
      if (!resolved.ok) {
        request.log.info({ parameter: "model" }, "live request refused: model not available");
        refuse(CloseCode.policyViolation, resolved.message);
        return;
      }
      const { engine, model } = resolved;
      const parsed = parseListenQuery(request.query as Query, "live", validatorView(resolved));
      if (!parsed.ok) {
        request.log.info({ parameter: parsed.parameter }, "live request refused: invalid query parameter");
        refuse(CloseCode.policyViolation, parsed.message);
        return;
      }
      const { channels, multichannel } = parsed.options;
      if (multichannel && channels > maxChannelsPerSession) {
        request.log.info({ channels }, "live request refused: too many channels");
        refuse(CloseCode.policyViolation, tooManyChannels(channels, maxChannelsPerSession));
        return;
      }
      if (!lease) {
        // Not admitted before the handshake (an upgrade that skipped the hook): refuse rather than run unaccounted.
        refuse(CloseCode.tryAgainLater, "server at capacity: try again later");
        return;
      }
      if (parsed.ignored.length > 0) request.log.info({ ignoredParameters: parsed.ignored }, "ignoring unknown query parameters");
      const callStart = opts.liveCalls ? listenCallStart(parsed.options.extra) : undefined;
      if (callStart && !callStart.ok) {
        refuse(CloseCode.policyViolation, callStart.message);
        return;
      }
      // With extra=call_id the session feeds that live call; messages wait until the call has begun.
      let call: LiveCall | undefined;
      const pending: ServerMessage[] = [];
      const tap = callStart ? (m: ServerMessage) => (call ? call.onSessionMessage(m) : pending.push(m)) : undefined;
      let begun: Promise<LiveCall> | undefined;
      const session = new LiveSession({
        socket,
        engine,
        options: parsed.options,
        requestId: String(request.id),
        model,
        log: request.log,
        idleTimeoutMs: opts.idleTimeoutMs,
        flushTimeoutMs: opts.flushTimeoutMs,
        lease,
        maxChannels: maxChannelsPerSession,
        flow: opts.flow,
        tap,
        onEnd: (s) => {
          sessions.delete(s);
          void begun?.then((c) => c.finish(describeOutcome(s.outcome)), () => undefined);
        },
      });
      sessions.add(session);
      if (callStart?.ok && opts.liveCalls) {
        begun = opts.liveCalls.begin(callStart.start);
        begun.then(
          (c) => {
            call = c;
            c.receivedSeconds = () => session.receivedSeconds;
            for (const m of pending.splice(0)) c.onSessionMessage(m);
            if (!session.active) void c.finish(describeOutcome(session.outcome));
          },
          (err: Error) => {
            request.log.info({ callId: callStart.start.callId, err: err.message }, "live call refused");
            session.refuse(CloseCode.policyViolation, err.message);
          },
        );
      }
    },
  });

  app.post("/v1/listen", { config: { auth: LISTEN_ROUTE_AUTH } }, async (request, reply) => {
    const resolved = resolveModel(engines, request.query as Query);
    if (!resolved.ok) {
      return reply.code(400).send(errorBody(request, "INVALID_QUERY_PARAMETER", resolved.message, "model"));
    }
    const { engine, model } = resolved;
    const parsed = parseListenQuery(request.query as Query, "prerecorded", validatorView(resolved));
    if (!parsed.ok) {
      return reply.code(400).send(errorBody(request, "INVALID_QUERY_PARAMETER", parsed.message, parsed.parameter));
    }
    if (parsed.ignored.length > 0) request.log.info({ ignoredParameters: parsed.ignored }, "ignoring unknown query parameters");
    const body = request.body;
    if (!(body instanceof Uint8Array)) {
      // A JSON body is Deepgram's `{"url": ...}` form; fetching remote URLs is not offered (SSRF risk).
      return reply
        .code(400)
        .send(errorBody(request, "UNSUPPORTED_SOURCE", "Send the audio itself as the request body (WAV, FLAC, or raw with encoding and sample_rate); URL sources are not supported."));
    }
    try {
      const response = await transcribeRecording(body, parsed.options, { engine, requestId: String(request.id), model, maxAudioSeconds: opts.maxAudioSeconds ?? DEFAULT_MAX_AUDIO_SECONDS });
      request.log.info(
        { audioSeconds: response.metadata.duration, channels: response.results.channels.length, bytes: body.length },
        "pre-recorded request transcribed",
      );
      return reply.send(response);
    } catch (err) {
      if (err instanceof AudioTooLongError) {
        request.log.info({ reason: err.message, limitSeconds: err.limitSeconds }, "pre-recorded request refused: audio too long");
        return reply.code(413).send(errorBody(request, "AUDIO_TOO_LONG", `Could not process the audio: ${err.message}.`));
      }
      if (err instanceof AudioDecodeError) {
        request.log.info({ reason: err.message }, "pre-recorded request refused: not decodable audio");
        return reply.code(400).send(errorBody(request, "INVALID_AUDIO", `Could not process the audio: ${err.message}.`));
      }
      throw err;
    }
  });
}
