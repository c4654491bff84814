import { describe, expect, it } from "vitest";
import Ajv from "ajv";
import appSchema from "../../app-directory/application.schema.json" with { type: "json" };
import intentSchema from "../../intents/intent.schema.json" with { type: "json" };
import { APP_DIRECTORY, INTENTS, knownContextTypes, resolveAppDirectory } from "../../src/contracts";

/** FDC3 2.2 standard intents our apps handle (defined by the standard, not in intents/). */
const STANDARD_INTENTS = new Set(["ViewInteractions", "CreateInteraction"]);

const ajv = new Ajv({ allErrors: true });
const validateApp = ajv.compile(appSchema);
const validateIntent = ajv.compile(intentSchema);

describe("intents/", () => {
  it.each(Object.entries(INTENTS))("%s is a valid intent definition naming known context types", (name, def) => {
    expect(validateIntent(def), JSON.stringify(validateIntent.errors)).toBe(true);
    expect(def.name).toBe(name);
    for (const type of def.contexts) expect(knownContextTypes()).toContain(type);
  });
});

describe("app-directory/", () => {
  it.each(APP_DIRECTORY.map((r) => [r.appId, r] as const))("%s is a valid App Directory v2 record", (_id, record) => {
    expect(validateApp(record), JSON.stringify(validateApp.errors)).toBe(true);
  });

  it("declares each intent it listens for exactly as intents/ defines it (FDC3 standard intents: known context types)", () => {
    for (const record of APP_DIRECTORY) {
      for (const [intent, decl] of Object.entries(record.interop?.intents?.listensFor ?? {})) {
        if (STANDARD_INTENTS.has(intent)) {
          for (const type of decl.contexts) expect(knownContextTypes(), `${record.appId} ${intent}`).toContain(type);
          continue;
        }
        const def = INTENTS[intent as keyof typeof INTENTS];
        expect(def, `${record.appId} listens for undefined intent ${intent}`).toBeDefined();
        expect(decl.contexts).toEqual(def.contexts);
        expect(decl.resultType).toBe(def.resultType);
      }
    }
  });

  it("has one transcriber, two CRMs for SaveTranscript (Acme CRM, Notes CRM) and one standard-only CRM for CreateInteraction", () => {
    const handlers = (intent: string) => APP_DIRECTORY.filter((r) => r.interop?.intents?.listensFor?.[intent]).map((r) => r.title);
    expect(handlers("StartTranscription")).toEqual(["Callscribe Transcriber"]);
    expect(handlers("SaveTranscript").sort()).toEqual(["Acme CRM", "Notes CRM"]);
    expect(handlers("ViewInteractions")).toEqual(["Callscribe Library"]);
    expect(handlers("CreateInteraction")).toEqual(["Standard CRM"]);
    expect(new Set(APP_DIRECTORY.map((r) => r.appId)).size).toBe(APP_DIRECTORY.length);
  });

  it("the transcriber declares the intents it raises, with their context types", () => {
    const transcriber = APP_DIRECTORY.find((r) => r.appId === "transcriber")!;
    expect(transcriber.interop?.intents?.raises).toEqual({ SaveTranscript: ["fdc3.transcript"], CreateInteraction: ["fdc3.interaction"] });
  });

  it("resolves relative URLs against the desktop's origin", () => {
    const resolved = resolveAppDirectory("http://localhost:8787");
    expect(resolved.find((r) => r.appId === "transcriber")?.details.url).toBe("http://localhost:8787/transcriber/");
  });
});
