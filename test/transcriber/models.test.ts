import { describe, expect, it } from "vitest";
import { fetchModelChoices, isDeepgramChoice, languagesOf, modelChoicesFromBody } from "../../src/transcriber/session/models";

describe("engine picker choices", () => {
  it("lists streaming STT models from Deepgram's /v1/models shape after the server default", () => {
    const body = {
      stt: [
        { name: "pocketsphinx", canonical_name: "pocketsphinx-en-us", architecture: "pocketsphinx", streaming: true },
        { name: "whisper", canonical_name: "whisper-base.en", architecture: "whisper", streaming: true },
        { name: "batch-only", streaming: false },
        { name: "pocketsphinx", canonical_name: "pocketsphinx-en-us", architecture: "pocketsphinx" },
      ],
      tts: [],
    };
    expect(modelChoicesFromBody(body)).toEqual([
      { label: "server default" },
      { model: "pocketsphinx-en-us", label: "pocketsphinx-en-us", architecture: "pocketsphinx" },
      { model: "whisper-base.en", label: "whisper-base.en", architecture: "whisper" },
    ]);
  });

  it("refuses a body of another shape, naming the field", () => {
    expect(() => modelChoicesFromBody({ stt: [{ canonical_name: "x" }] })).toThrow(/\/stt\/0 must have required property 'name'/);
  });

  it("falls back to the server default with the reason when the list is unavailable", async () => {
    const notFound = (async () => new Response("{}", { status: 404 })) as typeof fetch;
    expect(await fetchModelChoices("http://127.0.0.1:1", notFound)).toEqual({ choices: [{ label: "server default" }], error: "GET /v1/models: HTTP 404" });
    const down = (async () => {
      throw new TypeError("fetch failed");
    }) as typeof fetch;
    // The engine-list notice names the server that could not be reached (issue 7 item 20).
    expect((await fetchModelChoices("http://127.0.0.1:1", down)).error).toBe("cannot reach the speech server at http://127.0.0.1:1 (is it running, and is this its address?)");
  });
});

describe("language choices per model (the language picker)", () => {
  it("offers the chosen model's languages, English first, and the server default's languages for 'server default'", () => {
    const choices = modelChoicesFromBody({
      stt: [
        { name: "pocketsphinx-en-us", canonical_name: "pocketsphinx-en-us", architecture: "pocketsphinx", languages: ["en"], streaming: true, default: true },
        { name: "nova-3", canonical_name: "nova-3", architecture: "deepgram", languages: ["es", "en", "de"], streaming: true, default: false },
      ],
    });
    expect(languagesOf(choices[0])).toEqual(["en"]);
    expect(languagesOf(choices.find((c) => c.model === "nova-3"))).toEqual(["en", "es", "de"]);
    expect(languagesOf(undefined)).toEqual(["en"]);
    // Only a Deepgram model can be reached directly (the connection-mode picker).
    expect(choices.map(isDeepgramChoice)).toEqual([false, false, true]);
  });
});
