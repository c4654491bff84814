/**
 * `npm run transcribe` on a real corpus WAV cut short (issue 7 item 21): its data chunk declares
 * more bytes than the file holds. The CLI must not call it plain "ok": it transcribes what is
 * there and says, on the file's line, that it is truncated and where it ends; the JSON carries
 * the warning too. (At 2902bfe the line read "ok" and nothing told the user.)
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadManifest } from "../../src/eval/corpus";

const repoRoot = resolve(import.meta.dirname, "../..");
const entry = loadManifest("read_en").find((e) => e.file === "ljspeech/LJ001-0004.wav")!;
const dir = mkdtempSync(join(tmpdir(), "callscribe-cli-truncated-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(join(repoRoot, "node_modules/.bin/tsx"), ["src/cli/transcribe.ts", ...args], { cwd: repoRoot, env: { ...process.env, CALLSCRIBE_TOPICS: "" } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolveRun({ code, stderr }));
  });
}

describe("npm run transcribe on a truncated WAV", () => {
  it("reports the file as truncated at N s, not as ok, and says so in its JSON", async () => {
    const whole = readFileSync(entry.path);
    const input = join(dir, "in");
    mkdirSync(input);
    writeFileSync(join(input, "cut.wav"), whole.subarray(0, Math.floor(whole.length / 2)));
    const out = join(dir, "out");
    const run = await runCli([input, "--out", out]);
    expect(run.code, run.stderr).toBe(0);
    const line = run.stderr.split("\n").find((l) => l.includes("cut.wav"))!;
    expect(line).toMatch(/^WARNING /);
    expect(line).not.toMatch(/^ok\b/);
    const m = /truncated: the WAV data chunk declares ([\d.]+) s of audio but the file ends at ([\d.]+) s/.exec(line);
    expect(m, line).not.toBeNull();
    expect(Number(m![1])).toBeCloseTo(entry.durationS, 1);
    expect(Number(m![2])).toBeCloseTo(entry.durationS / 2, 0);
    expect(run.stderr).toContain("1 of 1 files transcribed, 1 with warnings");
    const json = JSON.parse(readFileSync(join(out, "cut.json"), "utf8"));
    expect(json.warnings).toEqual([expect.stringMatching(/^truncated: /)]);
    expect(json.transcript.duration).toBeCloseTo(Number(m![2]), 1);
  }, 180_000);
});
