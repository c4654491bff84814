/**
 * The engine registry and engine choice: which models `GET /v1/models` lists, the documented default
 * order (CALLSCRIBE_DEFAULT_MODEL, else Whisper with a real model, else PocketSphinx; whisper.cpp
 * test models and Deepgram never by default), refusals of unknown models and of `detect_language`
 * on an English-only model, and "POST and live give the same words for the same file" with the real
 * PocketSphinx engine (real corpus speech) and a Whisper test model (vocabulary only: both empty).
 */
import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeepgramClient } from "@deepgram/sdk";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/server/app";
import { ConfigError, loadConfig } from "../../src/server/config";
import { corpusDir, exactReferenceEntries } from "../../src/eval/corpus";
import { wordErrorRate } from "../../src/eval/wer";
import { createEngineRegistry, ModelUnavailableError, type EngineRegistry } from "../../src/server/speech/engines/registry";
import type { PrerecordedResponse } from "../../src/server/speech/protocol";
import { loadPcm16k, streamWithSdk } from "./helpers";
import { writeSyntheticModel } from "./whisper-model-fixtures";

/** The engine section of the configuration (as every process reads it). */
const engineConfig = (env: NodeJS.ProcessEnv) => loadConfig(env, { role: "cli" }).engine;

const TEST_MODELS = path.resolve(corpusDir(), "..", "models", "whisper-for-tests");
const entry = exactReferenceEntries("read_en").find((e) => e.file.includes("LJ001-0001"))!;

/** A models folder with whisper.cpp's two test models (linked, not copied). */
function testModelsDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "models-"));
  for (const f of ["for-tests-ggml-tiny.en.bin", "for-tests-ggml-base.en.bin"]) symlinkSync(path.join(TEST_MODELS, f), path.join(dir, f));
  return dir;
}

function words(text: string): string[] {
  return text.toLowerCase().replace(/[^a-z' ]/g, " ").split(/\s+/).filter(Boolean);
}

describe("engine registry: listing and default order", () => {
  it("offers PocketSphinx and the Whisper test models, flags them testModel, and keeps PocketSphinx the default", async () => {
    const reg = await createEngineRegistry({ modelsDir: testModelsDir() });
    try {
      const stt = reg.modelsResponse().stt;
      expect(stt.map((m) => m.name).sort()).toEqual(["pocketsphinx-en-us", "whisper-base.en", "whisper-tiny.en"]);
      expect(stt.filter((m) => m.test_model).map((m) => m.name).sort()).toEqual(["whisper-base.en", "whisper-tiny.en"]);
      expect(stt.find((m) => m.default)?.name).toBe("pocketsphinx-en-us");
      expect(reg.resolve("pocketsphinx").engine).toBe(reg.resolve("pocketsphinx-en-us").engine); // alias, one cached engine
      expect(reg.resolve(undefined).engine.name).toBe("pocketsphinx");
    } finally {
      await reg.close();
    }
  });

  it("chooses Whisper by default when a real (weighted) model is present; Deepgram only when configured", async () => {
    const dir = testModelsDir();
    writeSyntheticModel(path.join(dir, "ggml-tiny.en.bin"), { tensors: "all" }); // real layout with weights, made here
    const reg = await createEngineRegistry({ modelsDir: dir, deepgram: { apiKey: "k-12345678", baseUrl: "http://127.0.0.1:9" } });
    try {
      expect(reg.defaultModel).toBe("whisper-tiny.en");
      expect(reg.entry("whisper-tiny.en")?.testModel).toBe(false);
      expect(reg.entry("nova-3")?.cloud).toBe(true);
    } finally {
      await reg.close();
    }
    const dg = await createEngineRegistry({ modelsDir: dir, deepgram: { apiKey: "k-12345678", baseUrl: "http://127.0.0.1:9" }, defaultModel: "nova-3" });
    expect(dg.defaultModel).toBe("nova-3");
    await dg.close();
    await expect(createEngineRegistry({ modelsDir: dir, defaultModel: "nova-3" })).rejects.toThrow(ModelUnavailableError);
    await expect(createEngineRegistry({ modelsDir: dir, defaultModel: "nova-3" })).rejects.toThrow(/CALLSCRIBE_DEFAULT_MODEL/);
  });

  it("validates the new configuration variables, naming the variable and hiding the Deepgram key", () => {
    expect(() => engineConfig({ DEEPGRAM_API_KEY: "short" })).toThrow(ConfigError);
    let err: unknown;
    try {
      engineConfig({ DEEPGRAM_API_KEY: "has space in it" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe("DEEPGRAM_API_KEY");
    expect((err as Error).message).not.toContain("has space");
    expect(() => engineConfig({ DEEPGRAM_BASE_URL: "ftp://x" })).toThrow(/DEEPGRAM_BASE_URL/);
    expect(() => engineConfig({ CALLSCRIBE_DEFAULT_MODEL: "no spaces please" })).toThrow(/CALLSCRIBE_DEFAULT_MODEL/);
    const c = engineConfig({ DEEPGRAM_API_KEY: "abcdefgh1234", CALLSCRIBE_MODELS_DIR: "models" });
    expect(c.deepgram).toEqual({ apiKey: "abcdefgh1234", baseUrl: "https://api.deepgram.com" });
    expect(c.modelsDir).toBe(path.resolve("models"));
  });
});

describe("engine choice through /v1/listen (real engines, real corpus speech)", () => {
  let reg: EngineRegistry;
  let app: FastifyInstance;
  let baseUrl: string;

  beforeAll(async () => {
    reg = await createEngineRegistry({ modelsDir: testModelsDir(), pocketsphinx: { poolSize: 1 }, whisper: { poolSize: 1, threads: 1 } });
    app = buildServer({ engines: reg });
    await app.listen({ port: 0, host: "127.0.0.1" });
    baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await reg?.close();
  });

  it("GET /v1/models answers Deepgram's shape", async () => {
    const res = await fetch(`${baseUrl}/v1/models`);
    const body = (await res.json()) as { stt: Record<string, unknown>[] };
    for (const m of body.stt) expect(Object.keys(m)).toEqual(expect.arrayContaining(["name", "canonical_name", "architecture", "languages", "streaming", "batch", "uuid"]));
  });

  it("refuses an unknown model (400 and close 1008) and detect_language on PocketSphinx, naming the parameter", async () => {
    const post = await app.inject({ method: "POST", url: "/v1/listen?model=whisper-large-v3", payload: readFileSync(entry.path), headers: { "content-type": "audio/wav" } });
    expect(post.statusCode).toBe(400);
    expect(post.json().err_msg).toMatch(/not installed.*available: .*pocketsphinx-en-us/);
    const live = await streamWithSdk(baseUrl, new Int16Array(1600), { query: { model: "whisper-large-v3" }, timeoutMs: 10_000 });
    expect(live.close.code).toBe(1008);
    expect(live.close.reason).toContain("model");
    const detect = await app.inject({ method: "POST", url: "/v1/listen?model=pocketsphinx&detect_language=true", payload: readFileSync(entry.path), headers: { "content-type": "audio/wav" } });
    expect(detect.statusCode).toBe(400);
    expect(detect.json()).toMatchObject({ parameter: "detect_language" });
    expect(detect.json().err_msg).toMatch(/cannot detect the language/);
  });

  it.each([
    ["pocketsphinx-en-us", "the real PocketSphinx engine: same words, and real ones"],
    ["whisper-tiny.en", "a Whisper test model (no weights): both empty"],
  ])("POST and live give the same words for the same file with %s (%s)", async (model) => {
    const client = new DeepgramClient({ apiKey: "none", baseUrl });
    const post = (await client.listen.v1.media.transcribeFile(readFileSync(entry.path), { model })) as unknown as PrerecordedResponse;
    const postText = post.results.channels[0]!.alternatives[0]!.transcript;
    const out = await streamWithSdk(baseUrl, await loadPcm16k(entry.path), { query: { model }, timeoutMs: 120_000 });
    expect(out.close.code).toBe(1000);
    expect(words(out.finals[0]!)).toEqual(words(postText));
    const meta = out.messages.find((m) => m.type === "Metadata") as { model_info: Record<string, { name: string }> };
    expect(Object.values(meta.model_info)[0]!.name).toBe(model);
    if (model.startsWith("pocketsphinx")) expect(wordErrorRate(entry.referenceText, postText).wer).toBeLessThan(0.5);
    else expect(postText).toBe("");
  }, 180_000);
});
