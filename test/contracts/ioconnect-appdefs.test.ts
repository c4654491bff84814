/**
 * App definitions for io.Connect Desktop (`app-directory/io.connect/`, `npm run appdef:ioconnect`)
 * and the records' `hostManifests` (issue 10 §1, §3):
 *
 * - the committed files are exactly what the generator makes from the records (drift);
 * - each validates against the application schema of `@interopio/schemas`, with the package's
 *   own validator (ajv, and io.Connect's way around the schema's overlapping `details` branches:
 *   `details` checked against the definition of the app's `type`);
 * - every record carries `hostManifests.ioConnect` and `hostManifests.sail`, and the generated
 *   definitions hold the io.Connect manifest's settings.
 */
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APP_DIRECTORY } from "../../src/contracts";
import { DEFAULT_ORIGIN, IOCONNECT_DIR, ioConnectDefinitionFiles } from "../../scripts/appdef-ioconnect";

const require = createRequire(import.meta.url);
const { SchemaValidator } = require("@interopio/schemas/app/validator") as typeof import("@interopio/schemas/app/validator");
const { FileProvider } = require("@interopio/schemas/app/fileProvider") as typeof import("@interopio/schemas/app/fileProvider");
const { ApplicationSchemaName } = require("@interopio/schemas/app/names") as typeof import("@interopio/schemas/app/names");

const validator = new SchemaValidator(new FileProvider(undefined as never));
/** Validate a definition as io.Connect Desktop does (on a copy: the validator fills in defaults). */
const validateDefinition = (definition: object) => validator.validate(structuredClone(definition), ApplicationSchemaName);

const generated = ioConnectDefinitionFiles(DEFAULT_ORIGIN);

describe("app-directory/io.connect/", () => {
  it("holds exactly what `npm run appdef:ioconnect` generates from the records (run it after changing a record)", async () => {
    const committed = (await readdir(IOCONNECT_DIR)).filter((f) => f.endsWith(".json")).sort();
    expect(committed).toEqual(generated.map((g) => g.file).sort());
    for (const { file, text } of generated) expect(await readFile(join(IOCONNECT_DIR, file), "utf8"), file).toBe(text);
  });

  it.each(generated.map((g) => [g.file, g.definition] as const))("%s validates against @interopio/schemas' application schema", (_file, definition) => {
    const result = validateDefinition(definition);
    expect(result.errors, JSON.stringify(result.errors)).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it("the schema check can fail: a definition with a wrong type or a window without a URL is refused", () => {
    const transcriber = generated.find((g) => g.file === "transcriber.json")!.definition;
    const wrongType = validateDefinition({ ...transcriber, type: "web" });
    expect(wrongType.isValid).toBe(false);
    expect(JSON.stringify(wrongType.errors)).toMatch(/allowed values/);
    const { url: _url, ...noUrl } = transcriber.details;
    const withoutUrl = validateDefinition({ ...transcriber, details: noUrl });
    expect(withoutUrl.isValid).toBe(false);
    expect(JSON.stringify(withoutUrl.errors)).toMatch(/required property 'url'/);
  });

  it("converts a record as io.Connect does: name = appId, absolute URL, intents from listensFor, the record under fdc3, then hostManifests.ioConnect", () => {
    for (const { definition } of generated) {
      const record = APP_DIRECTORY.find((r) => r.appId === definition.name)!;
      expect(record, definition.name).toBeDefined();
      expect(definition.type).toBe("window");
      expect(definition.title).toBe(record.title);
      expect(definition.details.url).toBe(new URL(record.details.url, DEFAULT_ORIGIN).href);
      expect((definition.intents ?? []).map((i) => i.name)).toEqual(Object.keys(record.interop?.intents?.listensFor ?? {}));
      expect(definition.fdc3).toMatchObject({ appId: record.appId, definitionVersion: "2.0" });
      const { details, ...rest } = record.hostManifests!.ioConnect!;
      expect(definition.details).toMatchObject(details!);
      expect(definition).toMatchObject(rest);
    }
    const transcriber = generated.find((g) => g.file === "transcriber.json")!.definition;
    expect(transcriber.intents?.find((i) => i.name === "StartTranscription")).toEqual({
      name: "StartTranscription",
      displayName: "Start Transcription",
      contexts: ["fdc3.call", "fdc3.interaction", "fdc3.contact", "fdc3.nothing"],
      resultType: "channel<fdc3.transcript>",
    });
  });
});

describe("hostManifests in the App Directory records", () => {
  it.each(APP_DIRECTORY.map((r) => [r.appId, r] as const))("%s has an io.Connect manifest that gets it window.fdc3, and a Sail manifest of the keys Sail reads", (_id, record) => {
    const { ioConnect, sail } = record.hostManifests ?? {};
    expect(ioConnect?.details?.autoInjectFdc3).toEqual({ enabled: true });
    expect(ioConnect?.details?.channelSelector).toMatchObject({ enabled: true });
    expect(Object.keys(sail ?? {}).sort()).toEqual(["forceNewWindow", "searchable"]);
    expect(sail?.searchable).toBe(true);
  });

  it("the transcriber is one instance in io.Connect (the interop methods' one server) and opens in its own tab in Sail (microphone)", () => {
    const transcriber = APP_DIRECTORY.find((r) => r.appId === "transcriber")!;
    expect(transcriber.hostManifests?.ioConnect?.allowMultiple).toBe(false);
    expect(transcriber.hostManifests?.sail?.forceNewWindow).toBe(true);
    expect(APP_DIRECTORY.filter((r) => r.hostManifests?.sail?.forceNewWindow).map((r) => r.appId)).toEqual(["transcriber"]);
  });
});
