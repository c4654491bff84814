/**
 * The demo PBX's HTTP routes, registered only when the demo PBX is on (`CALLSCRIBE_DEMO_PBX`,
 * `main.ts`). The demo softphone calls them with the desktop's `listen` token (or the API key):
 *
 * - `GET /v1/demo/pbx` → `{available, reason?, duration_s?, max_calls, active_calls}`: whether
 *   there is call audio (the corpus) and room.
 * - `POST /v1/demo/pbx/calls` `{callId, contact: {name, phoneNumber, email?}}` → 201
 *   {@link DemoCallStatus} once the AudioHook session opened (the live call exists); 400
 *   `INVALID_REQUEST` (with `field`), 409 `CALL_ALREADY_STREAMING`, 503 `TOO_MANY_DEMO_CALLS`
 *   (`Retry-After`), 503 `NO_DEMO_AUDIO` (no corpus: the transcriber uses the microphone), 502
 *   `AUDIOHOOK_REFUSED` (the server's AudioHook route did not take the stream: its reason).
 * - `GET /v1/demo/pbx/calls/:id` → 200 the status of a call streaming now, 404 `NO_DEMO_CALL` once it
 *   ended (the softphone polls it to say when the call audio is over).
 * - `DELETE /v1/demo/pbx/calls/:id` → 200 the status, `closing` (the PBX stops sending and sends
 *   AudioHook's `close` at once; the server answers `closed` once it has ended the live call), 404
 *   `NO_DEMO_CALL` when it does not stream.
 */
import type { FastifyInstance } from "fastify";
import Ajv from "ajv";
import { LISTEN_ROUTE_AUTH } from "../../auth";
import { errorBody } from "../../errors";
import { AudioHookClientError } from "./audiohook-client";
import { DemoAudioUnavailableError } from "./call-audio";
import { DemoCallExistsError, DemoPbxBusyError, type DemoCallRequest, type DemoPbx } from "./pbx";

/** A UUID (the softphone's call ids; AudioHook's `conversationId` is one). */
const UUID = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

const validateCall = new Ajv({ allErrors: false }).compile<DemoCallRequest>({
  type: "object",
  additionalProperties: false,
  required: ["callId", "contact"],
  properties: {
    callId: { type: "string", pattern: UUID },
    contact: {
      type: "object",
      additionalProperties: false,
      required: ["name", "phoneNumber"],
      properties: {
        name: { type: "string", minLength: 1, maxLength: 200, pattern: "^[^\\u0000-\\u001f\\u007f]+$" },
        phoneNumber: { type: "string", pattern: "^\\+?[0-9]{3,20}$" },
        email: { type: "string", maxLength: 320 },
      },
    },
  },
});

/** Fastify plugin: the demo PBX routes. */
export async function demoPbxRoutes(app: FastifyInstance, opts: { pbx: DemoPbx }): Promise<void> {
  const { pbx } = opts;
  const config = { auth: LISTEN_ROUTE_AUTH };

  app.get("/v1/demo/pbx", { config }, async () => ({ ...(await pbx.availability()), max_calls: pbx.maxCalls, active_calls: pbx.activeCalls }));

  app.post("/v1/demo/pbx/calls", { config, bodyLimit: 4096 }, async (request, reply) => {
    const body = request.body;
    if (!validateCall(body)) {
      const err = validateCall.errors![0]!;
      const path = err.instancePath.split("/").filter(Boolean);
      const missing = (err.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ?? (err.params as { additionalProperty?: string }).additionalProperty;
      const field = [...path, ...(missing ? [missing] : [])].join(".") || undefined;
      const what = err.keyword === "pattern" && field === "callId" ? "must be a UUID" : (err.message ?? "is invalid");
      return reply.code(400).send(errorBody(request, "INVALID_REQUEST", `Body must be {"callId": "<uuid>", "contact": {"name", "phoneNumber"}}: ${field || "body"} ${what}.`, { field }));
    }
    try {
      const status = await pbx.startCall(body);
      return reply.code(201).send(status);
    } catch (err) {
      if (err instanceof DemoCallExistsError) return reply.code(409).send(errorBody(request, "CALL_ALREADY_STREAMING", err.message));
      if (err instanceof DemoPbxBusyError) return reply.code(503).header("retry-after", "10").send(errorBody(request, "TOO_MANY_DEMO_CALLS", err.message));
      if (err instanceof DemoAudioUnavailableError) {
        request.log.warn({ reason: err.message }, "demo PBX has no call audio; the transcriber will use the microphone");
        return reply.code(503).send(errorBody(request, "NO_DEMO_AUDIO", `No demo audio: ${err.message}. The transcriber will use the microphone.`));
      }
      if (err instanceof AudioHookClientError) {
        request.log.warn({ reason: err.message }, "demo PBX stream refused");
        return reply.code(502).send(errorBody(request, "AUDIOHOOK_REFUSED", `The demo PBX could not stream the call: ${err.message}.`));
      }
      throw err;
    }
  });

  app.get<{ Params: { id: string } }>("/v1/demo/pbx/calls/:id", { config }, async (request, reply) => {
    const status = new RegExp(UUID).test(request.params.id) ? pbx.status(request.params.id) : undefined;
    if (!status) return reply.code(404).send(errorBody(request, "NO_DEMO_CALL", "The demo PBX does not stream that call (it ended or never started)."));
    return status;
  });

  app.delete<{ Params: { id: string } }>("/v1/demo/pbx/calls/:id", { config }, async (request, reply) => {
    const id = request.params.id;
    const status = new RegExp(UUID).test(id) ? await pbx.endCall(id) : undefined;
    if (!status) return reply.code(404).send(errorBody(request, "NO_DEMO_CALL", "The demo PBX does not stream that call (it ended or never started)."));
    return status;
  });
}
