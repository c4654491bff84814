/**
 * The demo PBX signs its AudioHook upgrade (`telephony/demo-pbx/signature.ts`) so that the
 * server's own verifier (`telephony/audiohook/signature.ts`, written separately from the spec)
 * accepts it: both sides were written from the AudioHook spec, so this checks one against the
 * other, and that the verifier still refuses a wrong secret, a changed header and a replay.
 */
import { describe, expect, it } from "vitest";
import { NonceCache, verifyAudiohookSignature } from "../../src/server/telephony/audiohook/signature";
import { authorityOf, sfString, signAudioHookRequest } from "../../src/server/telephony/demo-pbx/signature";

const secret = Buffer.alloc(32, 5);
const apiKey = "demo-audiohook-key-1";
const url = "ws://127.0.0.1:8787/v1/audiohook";

function signed(overrides: Partial<Parameters<typeof signAudioHookRequest>[0]> = {}) {
  const ids = { organizationId: "7a0c3f4e-1111-4a4a-9b9b-000000000001", sessionId: "7a0c3f4e-2222-4a4a-9b9b-000000000002", correlationId: "7a0c3f4e-3333-4a4a-9b9b-000000000003" };
  const sig = signAudioHookRequest({ url, apiKey, clientSecret: secret, ...ids, ...overrides });
  const headers = {
    host: "127.0.0.1:8787",
    "audiohook-organization-id": ids.organizationId,
    "audiohook-session-id": ids.sessionId,
    "audiohook-correlation-id": ids.correlationId,
    "x-api-key": apiKey,
    ...sig,
  };
  return { headers, sig };
}

describe("the demo PBX's AudioHook request signature", () => {
  it("is accepted by the server's verifier, once (its nonce is then spent)", () => {
    const nonces = new NonceCache();
    const { headers, sig } = signed();
    expect(sig["signature-input"]).toMatch(/^sig1=\("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" "audiohook-correlation-id" "x-api-key"\);keyid="demo-audiohook-key-1";nonce="[^"]{20,}";alg="hmac-sha256";created=\d+;expires=\d+$/);
    expect(sig.signature).toMatch(/^sig1=:[A-Za-z0-9+/]+=*:$/);
    expect(verifyAudiohookSignature({ headers, target: "/v1/audiohook", method: "GET", secret, apiKey, nonces })).toEqual({ ok: true });
    const replay = verifyAudiohookSignature({ headers, target: "/v1/audiohook", method: "GET", secret, apiKey, nonces });
    expect(replay).toMatchObject({ ok: false, reason: expect.stringContaining("replayed") });
  });

  it("is refused with another secret, a changed signed header, or when stale", () => {
    const { headers } = signed();
    expect(verifyAudiohookSignature({ headers, target: "/v1/audiohook", method: "GET", secret: Buffer.alloc(32, 6), apiKey, nonces: new NonceCache() })).toMatchObject({ ok: false, reason: "signature does not match" });
    const changed = { ...headers, "audiohook-session-id": "7a0c3f4e-2222-4a4a-9b9b-000000000099" };
    expect(verifyAudiohookSignature({ headers: changed, target: "/v1/audiohook", method: "GET", secret, apiKey, nonces: new NonceCache() })).toMatchObject({ ok: false, reason: "signature does not match" });
    const old = signed({ created: Math.floor(Date.now() / 1000) - 120 });
    expect(verifyAudiohookSignature({ headers: old.headers, target: "/v1/audiohook", method: "GET", secret, apiKey, nonces: new NonceCache() })).toMatchObject({ ok: false, reason: expect.stringContaining("too old") });
  });

  it("signs the query too, and writes @authority without a default port", () => {
    const { headers } = signed({ url: `${url}?x=1` });
    expect(verifyAudiohookSignature({ headers, target: "/v1/audiohook?x=1", method: "GET", secret, apiKey, nonces: new NonceCache() })).toEqual({ ok: true });
    expect(authorityOf(new URL("wss://Example.com:443/v1/audiohook"))).toBe("example.com");
    expect(authorityOf(new URL("ws://example.com:8787/"))).toBe("example.com:8787");
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(() => sfString("é")).toThrow(RangeError);
  });
});
