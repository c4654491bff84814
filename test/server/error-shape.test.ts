/**
 * Issue 7 §26 (last bullet): one error handler and one error-body shape for the whole server,
 * Deepgram's `{err_code, err_msg, request_id}` (checked with the same ajv schema the speech tests
 * use), from every part: the guard, the speech routes, the calls API, webhook intake (plus
 * `field`), Fastify's own refusals (body limit, schema validation) and unknown routes. The
 * `request_id` is the `dg-request-id` header.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../src/server/app";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { intakePlugin, RECORDING_READY_PATH } from "../../src/server/pipeline/intake";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { validateErrorBody } from "../../src/server/speech/validators";
import { generateWebhookSecret } from "../../src/server/webhooks/signing";

const KEY = "error-shape-key-0123456789";
let engine: SpeechEngine;
let app: FastifyInstance;

beforeAll(async () => {
  engine = createPocketSphinxEngine({ poolSize: 1 });
  app = buildServer({ engine, apiKey: KEY, maxBodyBytes: 1024 });
  app.register(intakePlugin, { webhookSecret: generateWebhookSecret(), enqueue: async () => ({ created: true, callId: "x" }) });
  app.register(callsApiPlugin, {
    getCall: async (id) => {
      if (id === "boom") throw new Error("database exploded at /secret/path");
      return null;
    },
    listCalls: async () => [],
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await engine?.close();
});

const auth = { authorization: `Token ${KEY}` };

describe("one error shape", () => {
  it.each([
    ["no key", 401, "INVALID_AUTH", { url: "/v1/models" }],
    ["an unknown route", 404, "NOT_FOUND", { url: "/v1/nope", headers: auth }],
    ["an unknown call", 404, "NOT_FOUND", { url: "/v1/calls/none", headers: auth }],
    ["a bad calls query", 400, "INVALID_QUERY_PARAMETER", { url: "/v1/calls?limit=0", headers: auth }],
    ["a failing call store", 500, "INTERNAL_SERVER_ERROR", { url: "/v1/calls/boom", headers: auth }],
    ["a bad listen parameter", 400, "INVALID_QUERY_PARAMETER", { method: "POST" as const, url: "/v1/listen?model=nope", headers: { ...auth, "content-type": "audio/wav" }, payload: "RIFF" }],
    ["a listen body over the limit", 413, "PAYLOAD_TOO_LARGE", { method: "POST" as const, url: "/v1/listen", headers: { ...auth, "content-type": "audio/wav" }, payload: Buffer.alloc(4096) }],
    ["an unsigned webhook", 401, "INVALID_SIGNATURE", { method: "POST" as const, url: RECORDING_READY_PATH, headers: { "content-type": "application/json" }, payload: "{}" }],
    ["a webhook of the wrong type", 415, "UNSUPPORTED_MEDIA_TYPE", { method: "POST" as const, url: RECORDING_READY_PATH, headers: { "content-type": "text/plain" }, payload: "x" }],
  ])("%s → %i %s", async (_what, status, code, request) => {
    const res = await app.inject(request);
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(validateErrorBody(body), JSON.stringify(body)).toBe(true);
    expect(body.err_code).toBe(code);
    expect(body.request_id).toBe(res.headers["dg-request-id"]);
    expect(Object.keys(body).filter((k) => !["err_code", "err_msg", "request_id", "parameter", "field"].includes(k))).toEqual([]);
    if (status >= 500) expect(body.err_msg).not.toContain("/secret/path");
  });
});
