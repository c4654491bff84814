/**
 * Abuse test for decoded-audio bounds (issue 7 items 8 and 11), against the real server
 * (`src/server/main.ts`, PocketSphinx, embedded pipeline) in a child process, so that its RSS
 * (VmRSS from /proc/<pid>/status) is the server's alone:
 * - 6 concurrent POSTs of a 0.3 MB FLAC of silence that declares 4.5 h, and 6 of the same stream
 *   with its length hidden (STREAMINFO total 0), with CALLSCRIBE_MAX_AUDIO_SECONDS=120: each is
 *   answered 413 naming the limit, and RSS stays within +300 MB during the attack and comes back
 *   to within +150 MB after (at 2902bfe each request decoded all 4.5 h to Float32, several GB);
 * - real corpus WAVs whose header claims 100 Hz or 1 Hz: 400 naming the supported rates (1 Hz
 *   was a 500), and the same header on the live WebSocket: close 1008;
 * - jfk.flac (the same speech on both channels) with multichannel=true: per channel, as Deepgram
 *   answers, but transcribed once and the result repeated (item 18).
 */
import { rssBytes } from "../support/rss";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { corpusDir } from "../../src/eval/corpus";
import { freePort } from "../../src/eval/free-port";
import { spawnTs } from "../pipeline/jobs-support";
import { silentFlac, withUnknownLength, withWavSampleRate } from "../support/audio-bombs";

const LIMIT_S = 120;
const CONCURRENT = 6;
const MB = 1024 * 1024;
const WAV = readFileSync(`${corpusDir()}/read_en/librispeech/1272-128104-0000.wav`);

let dir: string;
let base: string;
let server: ReturnType<typeof spawnTs>;
let declared: Uint8Array;
let hidden: Uint8Array;


const post = (body: Uint8Array, query = "") =>
  fetch(`${base}/v1/listen${query}`, { method: "POST", body: Buffer.from(body), headers: { "content-type": "application/octet-stream" } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callscribe-bomb-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawnTs("src/server/main.ts", {
    PORT: String(port),
    HOST: "127.0.0.1",
    CALLSCRIBE_DATA_DIR: join(dir, "data"),
    CALLSCRIBE_MODELS_DIR: join(dir, "no-models"),
    CALLSCRIBE_DEFAULT_MODEL: "pocketsphinx",
    CALLSCRIBE_MAX_AUDIO_SECONDS: String(LIMIT_S),
    CALLSCRIBE_LOG_LEVEL: "warn",
    CALLSCRIBE_API_KEY: "",
    DEEPGRAM_API_KEY: "",
    DATABASE_URL: "",
  });
  declared = await silentFlac(4.5 * 3600);
  hidden = withUnknownLength(declared);
  const deadline = Date.now() + 150_000;
  for (;;) {
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`server did not become healthy: ${server.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}, 240_000);

afterAll(async () => {
  server?.child.kill("SIGTERM");
  await server?.exited;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("decompression bombs on POST /v1/listen", () => {
  it(`refuses ${CONCURRENT}+${CONCURRENT} concurrent FLAC bombs with 413 naming the limit, and RSS does not grow with them`, async () => {
    expect(declared.length).toBeLessThan(400_000);
    // Warm up: a real transcription and one refused bomb, so the baseline has every decoder loaded.
    expect((await post(WAV)).status).toBe(200);
    expect((await post(hidden)).status).toBe(413);
    const pid = server.child.pid!;
    const baseline = rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
    try {
      const answers = await Promise.all([...Array(CONCURRENT).fill(declared), ...Array(CONCURRENT).fill(hidden)].map(async (bomb: Uint8Array) => {
        const res = await post(bomb);
        return { status: res.status, body: (await res.json()) as { err_code: string; err_msg: string } };
      }));
      for (const a of answers) {
        expect(a.status).toBe(413);
        expect(a.body.err_code).toBe("AUDIO_TOO_LONG");
        expect(a.body.err_msg).toMatch(new RegExp(`limit of ${LIMIT_S} s .*CALLSCRIBE_MAX_AUDIO_SECONDS`));
      }
      expect(answers.filter((a) => /declares 16200 s/.test(a.body.err_msg))).toHaveLength(CONCURRENT);
    } finally {
      clearInterval(sampler);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssBytes(pid);
    const report = `baseline ${(baseline / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB, after ${(after / MB).toFixed(0)} MB`;
    console.log(`RSS under ${2 * CONCURRENT} concurrent FLAC bombs: ${report}`);
    expect(peak - baseline, report).toBeLessThan(300 * MB);
    expect(after - baseline, report).toBeLessThan(150 * MB);
    // Still serving.
    expect((await post(WAV)).status).toBe(200);
  }, 300_000);
});

describe("absurd sample rates", () => {
  it("answers 400 naming the supported rates for a real WAV whose header claims 100 Hz or 1 Hz", async () => {
    for (const rate of [100, 1]) {
      const res = await post(withWavSampleRate(WAV, rate));
      expect(res.status, `${rate} Hz`).toBe(400);
      const body = (await res.json()) as { err_code: string; err_msg: string };
      expect(body.err_code).toBe("INVALID_AUDIO");
      expect(body.err_msg).toContain(`sample rate of ${rate} Hz is not supported: use 8000–48000 Hz`);
    }
  }, 60_000);

  it("closes the live WebSocket with 1008 when a streamed WAV header claims 100 Hz", async () => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/v1/listen`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
    ws.send(withWavSampleRate(WAV, 100).subarray(0, 8000));
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/100 Hz.*8000–48000 Hz/);
  }, 60_000);
});

describe("identical channels on POST /v1/listen", () => {
  it("answers multichannel=true on jfk.flac with both channels, the same words on each", async () => {
    const jfk = readFileSync(`${corpusDir()}/read_en/other/jfk.flac`);
    const res = await post(jfk, "?multichannel=true&model=pocketsphinx");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { metadata: { channels: number; duration: number }; results: { channels: { alternatives: { transcript: string }[] }[] } };
    expect(body.metadata.channels).toBe(2);
    expect(body.metadata.duration).toBeCloseTo(11, 1);
    expect(body.results.channels).toHaveLength(2);
    const [left, right] = body.results.channels.map((c) => c.alternatives[0].transcript);
    expect(left.split(" ").length).toBeGreaterThan(10);
    expect(right).toBe(left);
  }, 120_000);
});
