/**
 * `npm run transcribe` as a user runs it: a child process over a temp folder holding two real
 * corpus recordings (one WAV as recorded, one re-encoded to FLAC) and one corrupt file, with the
 * real PocketSphinx engine and the real decode → transcribe → analyze stages.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateContext } from "../../src/contracts";
import { loadManifest } from "../../src/eval/corpus";
import { corpusWer, wordErrorRate } from "../../src/eval/wer";
import { DEFAULT_TOPICS } from "../../src/server/config";
import { encodeFlac, readWav } from "../support/audio-encoders";

const repoRoot = resolve(import.meta.dirname, "../..");
const entries = loadManifest("read_en");
const wav = entries.find((e) => e.file === "ljspeech/LJ001-0004.wav")!;
const flacSource = entries.find((e) => e.file === "ljspeech/LJ001-0002.wav")!;

let dir: string;
let out: string;
let run: { code: number | null; stderr: string; stdout: string };

function runCli(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(join(repoRoot, "node_modules/.bin/tsx"), ["src/cli/transcribe.ts", ...args], { cwd: repoRoot, env: { ...process.env, CALLSCRIBE_TOPICS: "" } });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => (stdout += d));
    child.on("error", reject);
    child.on("close", (code) => resolveRun({ code, stderr, stdout }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callscribe-cli-"));
  out = join(dir, "out");
  const input = join(dir, "in");
  rmSync(input, { recursive: true, force: true });
  mkdirSync(join(input, "sub"), { recursive: true });
  copyFileSync(wav.path, join(input, "first.wav"));
  writeFileSync(join(input, "sub", "second.flac"), await encodeFlac(readWav(readFileSync(flacSource.path))));
  // A WAV header that lies about its data, followed by noise: what a truncated upload looks like.
  writeFileSync(join(input, "corrupt.wav"), Buffer.concat([Buffer.from("RIFF\x24\x00\x00\x00WAVEjunk", "latin1"), Buffer.alloc(512, 0x5a)]));
  writeFileSync(join(input, "notes.txt"), "not audio, not picked up from a folder");
  run = await runCli([input, "--out", out, "--concurrency", "2"]);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm run transcribe", () => {
  it("reports the corrupt file, keeps going, and exits non-zero", () => {
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/FAILED\s+\S*corrupt\.wav: .+/);
    expect(run.stderr).toContain("2 of 3 files transcribed, 1 failed");
    expect(run.stderr).not.toContain("notes.txt");
  });

  it("writes one JSON per good file with a valid fdc3.transcript and its analysis", () => {
    expect(readdirSync(out, { recursive: true }).map(String).sort()).toEqual(["first.json", "sub", "sub/second.json"]);
    expect(existsSync(join(out, "corrupt.json"))).toBe(false);
    const results = [
      { json: JSON.parse(readFileSync(join(out, "first.json"), "utf8")), entry: wav, format: "wav/pcm" },
      { json: JSON.parse(readFileSync(join(out, "sub/second.json"), "utf8")), entry: flacSource, format: "flac" },
    ];
    for (const { json, entry, format } of results) {
      expect(json.format).toBe(format);
      const checked = validateContext(json.transcript);
      expect(checked.valid, checked.valid ? "" : checked.error).toBe(true);
      expect(json.transcript.source).toBe("recording");
      expect(json.transcript.duration).toBeCloseTo(entry.durationS, 1);
      expect(json.analysis.summary.length).toBeGreaterThan(0);
      expect(DEFAULT_TOPICS).toContain(json.analysis.topic);
      expect(json.transcript.summary).toBe(json.analysis.summary);
      expect(json.transcript.topics).toEqual([json.analysis.topic]);
      expect(json.analysis.sentiment.perTurn).toHaveLength(json.transcript.segments.length);
    }
    // The words are really there: WER against the corpus references (exact LJ Speech texts).
    const wer = corpusWer(results.map(({ json, entry }) => wordErrorRate(entry.referenceText, json.transcript.text)));
    expect(wer.wer).toBeLessThan(0.5);
  });

  it("refuses bad arguments with exit code 2", async () => {
    const missing = await runCli([join(dir, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no such file or folder");
    const badConcurrency = await runCli([join(dir, "in"), "--concurrency", "0"]);
    expect(badConcurrency.code).toBe(2);
    expect(badConcurrency.stderr).toContain("--concurrency");
  });
});
