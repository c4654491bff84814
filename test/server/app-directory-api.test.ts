/**
 * `GET /appd/v2/apps` and `GET /appd/v2/apps/:appId` (issue 10 §3) with a client written from the
 * FDC3 App Directory 2.2 OpenAPI document (restated in app-directory/spec/): every body is checked
 * against the spec's `AllApplicationsResponse`, `Application` and `ErrorDTO`. Real server (a real
 * PocketSphinx engine, never called), with an API key set: the directory stays open.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import spec from "../../app-directory/spec/appd-application.schema.json" with { type: "json" };
import { APP_DIRECTORY } from "../../src/contracts";
import { buildServer } from "../../src/server/app";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema(spec);
const schema = (name: string) => ajv.getSchema(`${spec.$id}#/definitions/${name}`)!;

/** A client of the appd API as the spec describes it: base URL + `/v2/apps[/{appId}]`, JSON bodies. */
async function appd(base: string, path: string): Promise<{ status: number; body: any; contentType: string | null }> {
  const res = await fetch(`${base}${path}`, { headers: { accept: "application/json" } });
  return { status: res.status, body: await res.json(), contentType: res.headers.get("content-type") };
}

let engine: SpeechEngine;
const servers: FastifyInstance[] = [];

async function start(publicUrl?: string): Promise<string> {
  const app = buildServer({ engine, apiKey: "appd-test-key-0123456789", ...(publicUrl && { publicUrl, serverNames: [new URL(publicUrl).hostname] }) });
  await app.listen({ host: "127.0.0.1", port: 0 });
  servers.push(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  engine = createPocketSphinxEngine({ poolSize: 1 });
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await engine?.close();
});

describe("App Directory API (/appd/v2)", () => {
  it("lists every record as an AllApplicationsResponse, without a key, with absolute URLs under the request's origin", async () => {
    const origin = await start();
    const { status, body, contentType } = await appd(`${origin}/appd`, "/v2/apps");
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/json/);
    const validate = schema("AllApplicationsResponse");
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    expect(body.message).toBe("OK");
    expect(body.applications.map((a: { appId: string }) => a.appId)).toEqual(APP_DIRECTORY.map((r) => r.appId));
    for (const app of body.applications) {
      const one = schema("Application");
      expect(one(app), `${app.appId}: ${JSON.stringify(one.errors)}`).toBe(true);
      const local = APP_DIRECTORY.find((r) => r.appId === app.appId)!;
      expect(app.details.url).toBe(new URL(local.details.url, origin).href);
      expect(app.interop).toEqual(local.interop);
    }
  });

  it("answers one Application by appId, and 404 with an ErrorDTO for an unknown one (414 for an over-long one)", async () => {
    const origin = await start();
    const one = await appd(`${origin}/appd`, "/v2/apps/standard-crm");
    expect(one.status).toBe(200);
    expect(schema("Application")(one.body)).toBe(true);
    expect(one.body).toMatchObject({ appId: "standard-crm", title: "Standard CRM", details: { url: `${origin}/demo/crm/standard.html` } });
    expect(one.body.interop.intents.listensFor.CreateInteraction.contexts).toEqual(["fdc3.interaction"]);

    const missing = await appd(`${origin}/appd`, "/v2/apps/no-such-app");
    expect(missing.status).toBe(404);
    expect(schema("ErrorDTO")(missing.body)).toBe(true);
    expect(missing.body).toEqual({ code: 404, message: 'no application with appId "no-such-app" in this directory' });

    // Fastify's maxParamLength (100) refuses a longer appId before any lookup.
    const long = await fetch(`${origin}/appd/v2/apps/${"a".repeat(300)}`);
    expect(long.status).toBe(414);
  });

  it("uses CALLSCRIBE_PUBLIC_URL (wss:// read as https://, path prefix kept) for details.url", async () => {
    const origin = await start("wss://calls.example.com/callscribe");
    const { body } = await appd(`${origin}/appd`, "/v2/apps/transcriber");
    expect(body.details.url).toBe("https://calls.example.com/callscribe/transcriber/");
  });
});
