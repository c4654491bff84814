/** Query-parameter validation of /v1/listen (ajv schema + typing of query-string values). */
import { describe, expect, it } from "vitest";
import { DEFAULT_ENDPOINTING_MS, parseListenQuery } from "../../src/server/speech/query";

const ENGINE = { name: "pocketsphinx", model: "pocketsphinx-en-us", languages: ["en"] };

describe("parseListenQuery", () => {
  it("gives Deepgram's defaults when the query is empty", () => {
    const r = parseListenQuery({}, "live", ENGINE);
    expect(r).toEqual({
      ok: true,
      ignored: [],
      options: {
        model: undefined,
        language: undefined,
        encoding: undefined,
        sampleRate: undefined,
        channels: 1,
        multichannel: false,
        interimResults: false,
        endpointing: DEFAULT_ENDPOINTING_MS,
        utteranceEndMs: undefined,
        vadEvents: false,
        punctuate: false,
        smartFormat: false,
        keyterms: [],
        diarize: false,
        utterances: false,
        detectLanguage: false,
        extra: {},
      },
    });
  });

  it("reads Deepgram's repeated extra=key:value, and refuses a malformed one naming the parameter", () => {
    const r = parseListenQuery({ extra: ["call_id:c-1", "agent_name:Ann: the agent"] }, "live", ENGINE);
    expect(r.ok && r.options.extra).toEqual({ call_id: "c-1", agent_name: "Ann: the agent" });
    const bad = parseListenQuery({ extra: "no-colon" }, "prerecorded", ENGINE);
    expect(bad).toMatchObject({ ok: false, parameter: "extra" });
    const many = parseListenQuery({ extra: Array.from({ length: 21 }, (_, i) => `k${i}:v`) }, "live", ENGINE);
    expect(many).toMatchObject({ ok: false, parameter: "extra" });
  });

  it("types every supported parameter, keeps repeated keyterms, and lists unknown names", () => {
    const r = parseListenQuery(
      {
        model: "pocketsphinx-en-us", language: "en-US", encoding: "mulaw", sample_rate: "8000", channels: "2",
        multichannel: "true", interim_results: "true", endpointing: "300", utterance_end_ms: "1000",
        vad_events: "true", punctuate: "false", smart_format: "true", keyterm: ["callscribe", "FDC3"],
        diarize: "true", tag: "x", numerals: "true",
      },
      "live",
      ENGINE,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.options).toMatchObject({
      model: "pocketsphinx-en-us", language: "en-US", encoding: "mulaw", sampleRate: 8000, channels: 2,
      multichannel: true, interimResults: true, endpointing: 300, utteranceEndMs: 1000, vadEvents: true,
      punctuate: false, smartFormat: true, keyterms: ["callscribe", "FDC3"], diarize: true,
    });
    expect(r.ignored.sort()).toEqual(["numerals", "tag"]);
  });

  it("maps detect_language to detectLanguage on a multilingual model and refuses it on an English-only one", () => {
    const multi = { name: "whisper", model: "whisper-base", languages: ["en", "de", "fr"] };
    const ok = parseListenQuery({ detect_language: "true" }, "prerecorded", multi);
    expect(ok.ok && ok.options.detectLanguage).toBe(true);
    const refused = parseListenQuery({ detect_language: "true" }, "live", ENGINE);
    expect(refused).toMatchObject({ ok: false, parameter: "detect_language" });
    expect(!refused.ok && refused.message).toMatch(/cannot detect the language.*supports only en/);
    expect(parseListenQuery({ detect_language: "true", language: "de" }, "prerecorded", multi)).toMatchObject({ ok: false, parameter: "detect_language" });
    expect(parseListenQuery({ detect_language: "perhaps" }, "prerecorded", multi)).toMatchObject({ ok: false, parameter: "detect_language" });
  });

  it("accepts endpointing=false and endpointing=true (the default silence)", () => {
    const f = parseListenQuery({ endpointing: "false" }, "live", ENGINE);
    const t = parseListenQuery({ endpointing: "true" }, "live", ENGINE);
    expect(f.ok && f.options.endpointing).toBe(false);
    expect(t.ok && t.options.endpointing).toBe(DEFAULT_ENDPOINTING_MS);
  });

  it.each([
    [{ encoding: "opus9", sample_rate: "16000" }, "encoding"],
    [{ encoding: "linear16", sample_rate: "5" }, "sample_rate"],
    [{ encoding: "linear16", sample_rate: "96000" }, "sample_rate"],
    [{ encoding: "linear16", sample_rate: "fast" }, "sample_rate"],
    [{ encoding: "linear16" }, "sample_rate"],
    [{ model: "nope" }, "model"],
    [{ model: "nova-3" }, "model"],
    [{ language: "fr" }, "language"],
    [{ language: "english please" }, "language"],
    [{ channels: "17" }, "channels"],
    [{ interim_results: "maybe" }, "interim_results"],
    [{ endpointing: "-5" }, "endpointing"],
    [{ endpointing: "soon" }, "endpointing"],
    [{ utterance_end_ms: "0" }, "utterance_end_ms"],
    [{ keyterm: "" }, "keyterm"],
  ])("refuses %o naming %s", (query, parameter) => {
    const r = parseListenQuery(query, "live", ENGINE);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.parameter).toBe(parameter);
    expect(r.message).toContain(parameter);
  });

  it("treats live-only parameters as unknown names on POST, and utterances as unknown on live", () => {
    const post = parseListenQuery({ interim_results: "maybe", utterances: "true" }, "prerecorded", ENGINE);
    expect(post.ok && post.ignored).toEqual(["interim_results"]);
    expect(post.ok && post.options.utterances).toBe(true);
    const live = parseListenQuery({ utterances: "true" }, "live", ENGINE);
    expect(live.ok && live.ignored).toEqual(["utterances"]);
  });
});
