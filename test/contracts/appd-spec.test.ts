/**
 * Issue 10 §3: every App Directory record validates against the FDC3 App Directory 2.2
 * `Application` schema (app-directory/spec/appd-application.schema.json, restated from the
 * official OpenAPI document; deviations listed in its description). Records are checked as the
 * directory serves them: `details.url` made absolute, since the spec's `format: uri` is absolute.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import spec from "../../app-directory/spec/appd-application.schema.json" with { type: "json" };
import { APP_DIRECTORY, resolveAppDirectory } from "../../src/contracts";
import { REPO_ROOT } from "../e2e/support/paths";

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(spec);

const dir = join(REPO_ROOT, "app-directory");
const files = readdirSync(dir).filter((f) => f.endsWith(".json") && !f.endsWith(".schema.json"));

describe("App Directory records vs the FDC3 appd 2.2 Application schema", () => {
  it("APP_DIRECTORY holds every record file in app-directory/", () => {
    const ids = files.map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")).appId).sort();
    expect(APP_DIRECTORY.map((r) => r.appId).sort()).toEqual(ids);
  });

  it.each(resolveAppDirectory("https://desktop.example.com").map((r) => [r.appId, r] as const))("%s validates", (_id, record) => {
    expect(validate(record), JSON.stringify(validate.errors)).toBe(true);
  });

  it("the schema can fail: a web record without details.url, with a relative url, or a bad type is refused", () => {
    const [first] = resolveAppDirectory("https://desktop.example.com");
    expect(validate({ ...first, details: {} })).toBe(false);
    expect(validate({ ...first, details: { url: "/transcriber/" } })).toBe(false);
    expect(validate({ ...first, type: "applet" })).toBe(false);
    expect(validate({ ...first, interop: { intents: { listensFor: { X: { resultType: "fdc3.nothing" } } } } })).toBe(false);
  });
});
