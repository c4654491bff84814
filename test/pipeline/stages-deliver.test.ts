/**
 * Deliver stage and the generic JSON CRM connector against a local CRM endpoint
 * (test/support/crm-server.ts) that verifies our Standard Webhooks signature and fails the first
 * two deliveries; plus the signing module intake also uses.
 */
import { afterEach, describe, expect, it } from "vitest";
import { validateContext, type Transcript } from "../../src/contracts";
import { CrmDeliveryError, deliveryIdFor, GenericJsonConnector } from "../../src/server/crm/generic-json";
import { createCrmRegistry, selectConnector } from "../../src/server/crm/index";
import { generateWebhookSecret, signWebhook, verifyWebhook, WebhookSignatureError } from "../../src/server/webhooks/signing";
import { buildCrmPayload, deliverToCrm, formatDuration } from "../../src/server/pipeline/stages/deliver";
import { StageError } from "../../src/server/pipeline/stages/errors";
import type { Analysis } from "../../src/server/store/model";
import { startCrmServer, type CrmServer } from "../support/crm-server";

const transcript: Transcript = {
  type: "fdc3.transcript",
  id: { transcriptId: "rec-1", callId: "call-42" },
  source: "recording",
  text: "agent: hello\ncustomer: my invoice is wrong",
  segments: [
    { speaker: "agent", channel: 0, start: 0.4, end: 1.1, text: "hello", confidence: 0.9 },
    { speaker: "customer", channel: 1, start: 1.5, end: 3.2, text: "my invoice is wrong", confidence: 0.8 },
  ],
  provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
  duration: 492.3,
};
const analysis: Analysis = {
  summary: "Customer: My invoice is wrong.",
  topic: "Billing",
  sentiment: { label: "negative", score: -0.4, perTurn: [{ segment: 0, label: "neutral", score: 0 }, { segment: 1, label: "negative", score: -0.5 }] },
  keyPhrases: ["invoice"],
  actionItems: [],
  talkTime: { agent: 0.7, customer: 1.7 },
  silenceSec: 489.9,
};

let crm: CrmServer | undefined;
afterEach(async () => {
  await crm?.close();
  crm = undefined;
});

async function stageFailure(p: Promise<unknown>): Promise<StageError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(StageError);
  expect((err as StageError).stage).toBe("deliver");
  return err as StageError;
}

describe("buildCrmPayload", () => {
  it("has call_id, transcript, summary, topic, sentiment and duration like 8m12s", () => {
    const payload = buildCrmPayload("call-42", transcript, analysis);
    expect(payload).toMatchObject({ call_id: "call-42", summary: analysis.summary, topic: "Billing", sentiment: analysis.sentiment, duration: "8m12s" });
    expect(payload.transcript).toMatchObject({ summary: analysis.summary, topics: ["Billing"], sentiment: { label: "negative", score: -0.4 } });
    const checked = validateContext(payload.transcript);
    expect(checked.valid ? "valid" : checked.error).toBe("valid");
    expect([0, 59.4, 59.6, 60, 492, 3725].map(formatDuration)).toEqual(["0m0s", "0m59s", "1m0s", "1m0s", "8m12s", "62m5s"]);
  });
});

describe("deliverToCrm with the generic JSON connector", () => {
  it("retries through two failures, then delivers a signed body once", async () => {
    const secret = generateWebhookSecret();
    crm = await startCrmServer({ secret, failFirst: 2, failStatus: 503 });
    const connector = new GenericJsonConnector({ url: crm.url, secret });
    const payload = buildCrmPayload("call-42", transcript, analysis);

    for (let attempt = 1; attempt <= 2; attempt++) {
      const err = await stageFailure(deliverToCrm(connector, payload));
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/HTTP 503/);
    }
    const result = await deliverToCrm(connector, payload);
    expect(result).toEqual({ status: 201, recordId: "crm-1" });

    expect(crm.attempts.map((a) => [a.status, a.verified])).toEqual([[503, true], [503, true], [201, true]]);
    // The same webhook-id on every attempt: the CRM's idempotency key.
    expect(new Set(crm.attempts.map((a) => a.headers["webhook-id"]))).toEqual(new Set([deliveryIdFor("call-42")]));
    const received = JSON.parse(crm.attempts[2].rawBody) as Record<string, unknown>;
    expect(received).toEqual(JSON.parse(JSON.stringify(payload)));
    // Independent check of the signature with the received headers and raw body.
    expect(verifyWebhook(secret, crm.attempts[2].headers, crm.attempts[2].rawBody).id).toBe(deliveryIdFor("call-42"));

    // A repeat delivery of the same call is the same record (idempotent receiver).
    await expect(deliverToCrm(connector, payload)).resolves.toEqual({ status: 201, recordId: "crm-1" });
    expect(crm.records.size).toBe(1);
  });

  it("marks a 4xx as permanent, a wrong secret as 401 permanent, and an unreachable CRM as retryable", async () => {
    const secret = generateWebhookSecret();
    crm = await startCrmServer({ secret, failFirst: 1, failStatus: 422 });
    const payload = buildCrmPayload("call-43", transcript, analysis);
    const unprocessable = await stageFailure(deliverToCrm(new GenericJsonConnector({ url: crm.url, secret }), payload));
    expect([unprocessable.retryable, unprocessable.message]).toEqual([false, expect.stringMatching(/HTTP 422/)]);

    const wrongSecret = await stageFailure(deliverToCrm(new GenericJsonConnector({ url: crm.url, secret: generateWebhookSecret() }), payload));
    expect([wrongSecret.retryable, wrongSecret.message]).toEqual([false, expect.stringMatching(/HTTP 401/)]);
    expect(crm.attempts.at(-1)).toMatchObject({ status: 401, verified: false });

    const down = await stageFailure(deliverToCrm(new GenericJsonConnector({ url: "http://127.0.0.1:1/hook", secret }), payload));
    expect([down.retryable, down.message]).toEqual([true, expect.stringMatching(/unreachable/)]);
  });

  it("maps a connector's own errors by their retryable flag", async () => {
    const failing = (e: Error) => ({ name: "x", deliver: async () => { throw e; } });
    expect((await stageFailure(deliverToCrm(failing(new CrmDeliveryError("nope", false, 400)), buildCrmPayload("c", transcript, analysis)))).retryable).toBe(false);
    expect((await stageFailure(deliverToCrm(failing(new Error("socket hang up")), buildCrmPayload("c", transcript, analysis)))).retryable).toBe(true);
  });

  it("selects connectors by name", () => {
    const registry = createCrmRegistry({ url: "http://127.0.0.1:9/hook", secret: generateWebhookSecret() });
    expect(selectConnector(registry).name).toBe("generic-json");
    expect(() => selectConnector(registry, "salesforce")).toThrow(/unknown CRM connector "salesforce" \(known: generic-json\)/);
  });
});

describe("Standard Webhooks signing", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const body = '{"call_id":"c-1","recording_url":"https://r.example.com/1.wav"}';

  it("matches the Standard Webhooks reference signature", async () => {
    // HMAC-SHA256 over "id.timestamp.body" with the base64-decoded key, computed independently here.
    const { createHmac } = await import("node:crypto");
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const expected = createHmac("sha256", key).update(`msg_1.1700000000.${body}`).digest("base64");
    expect(signWebhook(secret, "msg_1", 1_700_000_000, body)).toEqual({ "webhook-id": "msg_1", "webhook-timestamp": "1700000000", "webhook-signature": `v1,${expected}` });
  });

  it("verifies a fresh signature and names each kind of rejection", () => {
    const now = Math.floor(Date.now() / 1000);
    const headers = signWebhook(secret, "msg_2", now, body);
    expect(verifyWebhook(secret, headers, body)).toEqual({ id: "msg_2", timestamp: now });
    expect(verifyWebhook(secret, new Headers({ ...headers }), Buffer.from(body)).id).toBe("msg_2");
    const reason = (fn: () => unknown) => {
      try {
        fn();
        return "accepted";
      } catch (e) {
        expect(e).toBeInstanceOf(WebhookSignatureError);
        return (e as WebhookSignatureError).reason;
      }
    };
    expect(reason(() => verifyWebhook(secret, headers, body.replace("c-1", "c-2")))).toBe("bad-signature");
    expect(reason(() => verifyWebhook(generateWebhookSecret(), headers, body))).toBe("bad-signature");
    expect(reason(() => verifyWebhook(secret, { "webhook-id": "msg_2" }, body))).toBe("missing-headers");
    expect(reason(() => verifyWebhook(secret, signWebhook(secret, "msg_3", now - 301, body), body))).toBe("stale");
    expect(reason(() => verifyWebhook(secret, signWebhook(secret, "msg_4", now + 301, body), body))).toBe("stale");
    expect(reason(() => verifyWebhook(secret, signWebhook(secret, "msg_5", now - 290, body), body))).toBe("accepted");
    expect(reason(() => verifyWebhook(secret, { ...headers, "webhook-timestamp": "soon" }, body))).toBe("bad-timestamp");
    expect(reason(() => verifyWebhook("not a secret!", headers, body))).toBe("bad-secret");
    // Several signatures (key rotation): any valid v1 passes.
    const rotated = { ...headers, "webhook-signature": `v1,AAAA ${headers["webhook-signature"]}` };
    expect(reason(() => verifyWebhook(secret, rotated, body))).toBe("accepted");
  });
});
