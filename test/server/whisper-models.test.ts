/**
 * Whisper model files: the ggml checker (synthetic files made by `whisper-model-fixtures.ts` and
 * whisper.cpp's real test models), listing a models folder, and `npm run models` — download through a
 * local HTTP server (checksum checks, atomic install) and the one-line failure without network.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadModel, ModelDownloadError } from "../../src/server/speech/engines/whisper/download.js";
import { expectedTensors, inspectGgmlModel, InvalidModelFileError } from "../../src/server/speech/engines/whisper/model-file.js";
import { listWhisperModels, OFFICIAL_SHA1 } from "../../src/server/speech/engines/whisper/models.js";
import { syntheticModel, TINY_HPARAMS, writeSyntheticModel } from "./whisper-model-fixtures.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const testModelsDir = path.resolve(repoRoot, "..", "shared", "models", "whisper-for-tests");
const tmp = mkdtempSync(path.join(os.tmpdir(), "callscribe-whisper-models-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const file = (name: string) => path.join(tmp, name);

describe("ggml model checker", () => {
  it("reads whisper.cpp's test models: English-only, vocabulary and no tensors", async () => {
    const tiny = await inspectGgmlModel(path.join(testModelsDir, "for-tests-ggml-tiny.en.bin"));
    expect(tiny).toMatchObject({ multilingual: false, size: "tiny", weightType: "f16", tensorCount: 0, testModel: true });
    expect(tiny.hparams.nAudioState).toBe(384);
    const base = await inspectGgmlModel(path.join(testModelsDir, "for-tests-ggml-base.en.bin"));
    expect(base).toMatchObject({ size: "base", testModel: true });
    expect(base.hparams.nAudioLayer).toBe(6);
  });

  it("accepts a complete model with every tensor whisper.cpp expects", async () => {
    const info = await inspectGgmlModel(writeSyntheticModel(file("complete.bin")));
    expect(info.testModel).toBe(false);
    expect(info.tensorCount).toBe(expectedTensors(TINY_HPARAMS).size);
    expect(info.tensorCount).toBe(7 + 15 + 4 + 24); // one encoder and one decoder layer
    expect(info.multilingual).toBe(false);
    const multi = await inspectGgmlModel(writeSyntheticModel(file("multi.bin"), { hparams: { nVocab: 51865 } }));
    expect(multi.multilingual).toBe(true);
  });

  const refusals: [string, () => Buffer, RegExp][] = [
    ["not a ggml file", () => Buffer.from("RIFF....WAVEfmt "), /bad magic/],
    ["a truncated download", () => syntheticModel().subarray(0, 700_000), /truncated/],
    ["a download cut between tensors", () => syntheticModel({ editTensors: (l) => l.slice(0, -1) }), /49 of 50 tensors present/],
    ["an unknown tensor", () => syntheticModel({ editTensors: (l) => [...l.slice(0, -1), { ...l.at(-1)!, name: "decoder.extra" }] }), /unknown tensor "decoder.extra"/],
    [
      "a misshapen tensor",
      () => syntheticModel({ editTensors: (l) => l.map((t) => (t.name === "encoder.ln_post.bias" ? { ...t, shape: [9] } : t)) }),
      /tensor "encoder.ln_post.bias" has shape \[9\], expected \[8\]/,
    ],
    ["an all-f32 model", () => syntheticModel({ hparams: { ftype: 0 } }), /all-f32 models/],
    ["an unknown weight type", () => syntheticModel({ hparams: { ftype: 5 }, tensors: "none" }), /unsupported weight type \(ftype 5\)/],
    ["garbage hyper-parameters", () => syntheticModel({ hparams: { nAudioState: -3 }, tensors: "none" }), /implausible hyper-parameters/],
  ];
  for (const [what, bytes, reason] of refusals) {
    it(`refuses ${what} (whisper.cpp would fail or crash on it)`, async () => {
      const f = file(`bad-${what.replace(/\W+/g, "-")}.bin`);
      writeFileSync(f, bytes());
      const err = await inspectGgmlModel(f).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidModelFileError);
      expect((err as Error).message).toMatch(reason);
      expect((err as Error).message).toContain(f);
    });
  }
});

describe("listWhisperModels", () => {
  it("lists ggml-<name>.bin and for-tests-ggml-<name>.bin, skips unusable files, prefers the real model", async () => {
    const dir = mkdtempSync(path.join(tmp, "list-"));
    copyFileSync(path.join(testModelsDir, "for-tests-ggml-tiny.en.bin"), path.join(dir, "for-tests-ggml-tiny.en.bin"));
    copyFileSync(path.join(testModelsDir, "for-tests-ggml-base.en.bin"), path.join(dir, "for-tests-ggml-base.en.bin"));
    writeSyntheticModel(path.join(dir, "ggml-base.en.bin"));
    writeSyntheticModel(path.join(dir, "ggml-small.bin"), { hparams: { nVocab: 51865 } });
    writeFileSync(path.join(dir, "ggml-medium.bin"), "partial download");
    writeFileSync(path.join(dir, "notes.txt"), "not a model");
    const models = await listWhisperModels(dir);
    expect(models.map((m) => [m.name, m.testModel, m.multilingual])).toEqual([
      ["base.en", false, false],
      ["small", false, true],
      ["tiny.en", true, false],
    ]);
    expect(models[0]!.path).toBe(path.join(dir, "ggml-base.en.bin"));
    expect(models[2]!.bytes).toBe(586_836);
  });

  it("lists nothing for a missing folder", async () => {
    expect(await listWhisperModels(path.join(tmp, "does-not-exist"))).toEqual([]);
  });
});

describe("model download (npm run models)", () => {
  let server: Server;
  let baseUrl: string;
  const modelBytes = syntheticModel();
  const sha256 = createHash("sha256").update(modelBytes).digest("hex");
  const served = new Map<string, Buffer>([
    ["/ggml-synth.bin", modelBytes],
    ["/ggml-base.en.bin", modelBytes], // not the official base.en: its SHA-1 differs
    ["/ggml-notamodel.bin", Buffer.from("hello")],
  ]);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = served.get(req.url ?? "");
      if (!body) {
        res.writeHead(404).end("not found");
        return;
      }
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("downloads, verifies the SHA-256 and installs the file atomically; a second run keeps it", async () => {
    const dir = mkdtempSync(path.join(tmp, "dl-"));
    const result = await downloadModel("whisper-synth", { modelsDir: dir, baseUrl, sha256 });
    expect(result).toMatchObject({ path: path.join(dir, "ggml-synth.bin"), bytes: modelBytes.length, sha256, downloaded: true });
    expect(readFileSync(result.path).equals(modelBytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(["ggml-synth.bin"]);
    const again = await downloadModel("synth", { modelsDir: dir, baseUrl, sha256 });
    expect(again.downloaded).toBe(false);
    expect((await listWhisperModels(dir)).map((m) => m.name)).toEqual(["synth"]);
  });

  it("refuses a file whose SHA-1 is not the official one and leaves nothing behind", async () => {
    const dir = mkdtempSync(path.join(tmp, "dl-"));
    const err = await downloadModel("base.en", { modelsDir: dir, baseUrl }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect((err as Error).message).toContain(`expected ${OFFICIAL_SHA1["base.en"]}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a wrong SHA-256, a file that is not a model, an HTTP error and an unknown name without checksum", async () => {
    const dir = mkdtempSync(path.join(tmp, "dl-"));
    await expect(downloadModel("synth", { modelsDir: dir, baseUrl, sha256: "0".repeat(64) })).rejects.toThrow(/SHA-256 [0-9a-f]{64}, expected 0{64}/);
    const sha = createHash("sha256").update("hello").digest("hex");
    await expect(downloadModel("notamodel", { modelsDir: dir, baseUrl, sha256: sha })).rejects.toThrow(/not a model whisper.cpp can load/);
    await expect(downloadModel("missing", { modelsDir: dir, baseUrl, sha256: sha })).rejects.toThrow(/HTTP 404/);
    await expect(downloadModel("synth", { modelsDir: dir, baseUrl })).rejects.toThrow(/No published checksum for "synth"/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("without network the script fails with one line saying where to put the file", () => {
    const dir = mkdtempSync(path.join(tmp, "offline-"));
    const closedPort = `http://127.0.0.1:9`; // discard port: nothing listens there
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "scripts", "models.ts"), "base.en"], {
      cwd: repoRoot,
      env: { ...process.env, CALLSCRIBE_MODELS_DIR: dir, CALLSCRIBE_MODELS_BASE_URL: closedPort },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.split("\n").filter((l) => l.trim());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^models: Cannot download ggml-base\.en\.bin: .* is unreachable \(.*\)\. Without network, put the file at /);
    expect(lines[0]).toContain(path.join(dir, "ggml-base.en.bin"));
    expect(lines[0]).toContain(OFFICIAL_SHA1["base.en"]);
    expect(existsSync(path.join(dir, "ggml-base.en.bin"))).toBe(false);
  });
});
