/**
 * `npm run transcribe` chooses its engine as the server does (issue 7 item 25): `--model <name>`,
 * else CALLSCRIBE_DEFAULT_MODEL, else the registry's default order; an unknown model is a usage
 * error (exit 2) that lists the available models. A child process per run, on one real corpus
 * recording, with real PocketSphinx and whisper.cpp's test models (`../shared/models/whisper-for-tests`:
 * a vocabulary and no weights, so Whisper runs for real and transcribes nothing; the provider in the
 * JSON says which engine ran).
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir, loadManifest } from "../../src/eval/corpus";

const repoRoot = resolve(import.meta.dirname, "../..");
const TEST_MODELS = resolve(corpusDir(), "..", "models", "whisper-for-tests");
const recording = loadManifest("read_en").find((e) => e.file === "ljspeech/LJ001-0004.wav")!;

let dir: string;
let input: string;

/** Engine variables cleared, so the runner's own environment cannot choose for the test. */
const CLEAN = { CALLSCRIBE_DEFAULT_MODEL: "", CALLSCRIBE_MODELS_DIR: TEST_MODELS, DEEPGRAM_API_KEY: "", CALLSCRIBE_TOPICS: "" };

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; json?: { transcript: { provider: { name: string; model?: string }; text: string } } }> {
  const out = mkdtempSync(join(dir, "out-"));
  return new Promise((resolveRun, reject) => {
    const child = spawn(join(repoRoot, "node_modules/.bin/tsx"), ["src/cli/transcribe.ts", input, "--out", out, ...args], { cwd: repoRoot, env: { ...process.env, ...CLEAN, ...env } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      let json;
      try {
        json = JSON.parse(readFileSync(join(out, "call.json"), "utf8"));
      } catch {
        json = undefined;
      }
      resolveRun({ code, stderr, json });
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "callscribe-cli-engine-"));
  mkdirSync(join(dir, "in"));
  input = join(dir, "in", "call.wav");
  copyFileSync(recording.path, input);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm run transcribe: engine choice", () => {
  it("--model whisper-tiny.en runs Whisper (the provider in the JSON and on stderr)", async () => {
    const run = await runCli(["--model", "whisper-tiny.en"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/engine\s+whisper-tiny\.en \(whisper, test model/);
    expect(run.json?.transcript.provider).toEqual({ name: "whisper", model: "whisper-tiny.en" });
  }, 120_000);

  it("without --model: CALLSCRIBE_DEFAULT_MODEL, as the server and the worker read it", async () => {
    const run = await runCli([], { CALLSCRIBE_DEFAULT_MODEL: "whisper-base.en" });
    expect(run.code, run.stderr).toBe(0);
    expect(run.json?.transcript.provider).toEqual({ name: "whisper", model: "whisper-base.en" });
  }, 120_000);

  it("--model wins over CALLSCRIBE_DEFAULT_MODEL; PocketSphinx by alias recognises the words", async () => {
    const run = await runCli(["--model", "pocketsphinx"], { CALLSCRIBE_DEFAULT_MODEL: "whisper-base.en" });
    expect(run.code, run.stderr).toBe(0);
    expect(run.json?.transcript.provider).toEqual({ name: "pocketsphinx", model: "pocketsphinx-en-us" });
    expect(run.json!.transcript.text.split(/\s+/).length).toBeGreaterThan(5);
  }, 120_000);

  it("an unknown --model or CALLSCRIBE_DEFAULT_MODEL stops at start with exit 2, naming it and the available models", async () => {
    const flag = await runCli(["--model", "whisper-large-v9"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('Invalid --model "whisper-large-v9"');
    expect(flag.stderr).toMatch(/available: .*pocketsphinx-en-us.*whisper-tiny\.en|available: .*whisper-tiny\.en.*pocketsphinx-en-us/);
    expect(flag.stderr).not.toMatch(/engine\s/); // refused before any engine was loaded
    const env = await runCli([], { CALLSCRIBE_DEFAULT_MODEL: "nova-3" }); // a Deepgram model without DEEPGRAM_API_KEY
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('CALLSCRIBE_DEFAULT_MODEL="nova-3"');
    expect(env.stderr).toContain("available:");
  }, 120_000);
});
