/**
 * Download stage against a real local HTTP server (test/support/recordings-server.ts) serving a
 * real corpus recording: the SSRF allow-list (hosts, ports, IP-literal spellings, credentials,
 * redirects), size and time limits, and which failures are retryable.
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRecordingUrl, downloadRecording, parseAllowedHosts } from "../../src/server/pipeline/stages/download";
import { StageError } from "../../src/server/pipeline/stages/errors";
import { corpusDir, loadCorpusWav, startRecordingsServer, type RecordingsServer } from "../support/recordings-server";
import { encodeWavPcm16 } from "../support/audio-encoders";

let server: RecordingsServer;
let work: string;
let wavBytes: Uint8Array;
const MB = 1024 * 1024;

beforeAll(async () => {
  server = await startRecordingsServer();
  work = await mkdtemp(join(tmpdir(), "callscribe-download-"));
  wavBytes = encodeWavPcm16(await loadCorpusWav(join(corpusDir(), "read_en/librispeech/1272-128104-0000.wav")));
  await server.addFile("call.wav", wavBytes);
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

const opts = (over: Partial<Parameters<typeof downloadRecording>[2]> = {}) => ({ allowedHosts: [server.host], maxBytes: 10 * MB, timeoutMs: 5000, ...over });

async function failure(p: Promise<unknown>): Promise<StageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StageError);
  expect((err as StageError).stage).toBe("download");
  return err as StageError;
}

describe("downloadRecording", () => {
  it("streams an allowed recording to disk byte for byte", async () => {
    const dest = join(work, "ok", "call.wav");
    const result = await downloadRecording(server.fileUrl("call.wav"), dest, opts());
    expect(result).toEqual({ path: dest, bytes: wavBytes.length, contentType: "audio/wav" });
    expect(Buffer.compare(await readFile(dest), Buffer.from(wavBytes))).toBe(0);
    expect(await readdir(join(work, "ok"))).toEqual(["call.wav"]); // no .part left behind
  });

  it("refuses a host that is not allowed, without fetching", async () => {
    const before = server.requests.length;
    const err = await failure(downloadRecording(server.fileUrl("call.wav"), join(work, "x.wav"), opts({ allowedHosts: ["recordings.example.com"] })));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/not in the allowed hosts/);
    // Same host, other port: a host:port entry is port-specific.
    const err2 = await failure(downloadRecording(server.fileUrl("call.wav"), join(work, "x.wav"), opts({ allowedHosts: ["127.0.0.1:1"] })));
    expect(err2.message).toMatch(/not in the allowed hosts/);
    expect(server.requests.length).toBe(before);
  });

  it("matches a bare host entry on any port, and compares normalised host names", async () => {
    const rules = parseAllowedHosts(["Recordings.Example.COM.", "127.0.0.1"]);
    expect(checkRecordingUrl("https://recordings.example.com/a.wav", rules).host).toBe("recordings.example.com");
    expect(checkRecordingUrl("https://RECORDINGS.example.com.:8443/a.wav", rules).port).toBe("8443");
    const dest = join(work, "anyport.wav");
    await expect(downloadRecording(server.fileUrl("call.wav"), dest, opts({ allowedHosts: ["127.0.0.1"] }))).resolves.toMatchObject({ bytes: wavBytes.length });
  });

  it("refuses IP-literal tricks, credentials and non-http schemes", () => {
    const rules = parseAllowedHosts(["127.0.0.1", "recordings.example.com"]);
    for (const url of ["http://2130706433/a.wav", "http://0x7f.0.0.1/a.wav", "http://0177.0.0.1/a.wav", "http://127.1/a.wav"]) {
      expect(() => checkRecordingUrl(url, rules), url).toThrow(/non-canonical IP address/);
    }
    expect(() => checkRecordingUrl("http://recordings.example.com@evil.example.net/a.wav", rules)).toThrow(/credentials|not in the allowed hosts/);
    expect(() => checkRecordingUrl("http://user:pw@recordings.example.com/a.wav", rules)).toThrow(/credentials/);
    expect(() => checkRecordingUrl("http://recordings.example.com.evil.example.net/a.wav", rules)).toThrow(/not in the allowed hosts/);
    expect(() => checkRecordingUrl("http://[::ffff:127.0.0.1]/a.wav", rules)).toThrow(/not in the allowed hosts/);
    expect(() => checkRecordingUrl("file:///etc/passwd", rules)).toThrow(/scheme file: is not allowed/);
    expect(() => checkRecordingUrl("not a url", rules)).toThrow(/not a valid absolute URL/);
  });

  it("follows an allowed redirect but refuses one to a host that is not allowed", async () => {
    const okDest = join(work, "redirected.wav");
    const ok = await downloadRecording(`${server.baseUrl}/redirect?to=${encodeURIComponent("/files/call.wav")}`, okDest, opts());
    expect(ok.bytes).toBe(wavBytes.length);

    const before = server.requests.length;
    const target = "http://169.254.169.254/latest/meta-data/";
    const err = await failure(downloadRecording(`${server.baseUrl}/redirect?to=${encodeURIComponent(target)}`, join(work, "meta.wav"), opts()));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/redirect refused: target host 169\.254\.169\.254 is not in the allowed hosts/);
    expect(server.requests.length).toBe(before + 1); // only the redirecting request
  });

  it("refuses a body over the size limit, declared or not, and leaves no file", async () => {
    const declared = await failure(downloadRecording(`${server.baseUrl}/huge?bytes=${3 * MB}`, join(work, "big1.bin"), opts({ maxBytes: MB })));
    expect(declared.retryable).toBe(false);
    expect(declared.message).toMatch(/3145728 bytes, over the limit of 1048576/);

    const streamed = await failure(downloadRecording(`${server.baseUrl}/huge?bytes=${3 * MB}&declare=0`, join(work, "big2.bin"), opts({ maxBytes: MB })));
    expect(streamed.retryable).toBe(false);
    expect(streamed.message).toMatch(/larger than the limit of 1048576 bytes/);
    const left = await readdir(work);
    expect(left.filter((f) => f.startsWith("big"))).toEqual([]);
  });

  it("times out a stalled download as retryable", async () => {
    const started = Date.now();
    const err = await failure(downloadRecording(`${server.baseUrl}/slow`, join(work, "slow.wav"), opts({ timeoutMs: 400 })));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/timed out after 400 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("treats 404 as permanent and 503 / 429 / connection refused as retryable", async () => {
    const e404 = await failure(downloadRecording(`${server.baseUrl}/status/404`, join(work, "a"), opts()));
    expect([e404.retryable, e404.message]).toEqual([false, expect.stringMatching(/HTTP 404/)]);
    const e403 = await failure(downloadRecording(`${server.baseUrl}/status/403`, join(work, "a"), opts()));
    expect(e403.retryable).toBe(false);
    const e503 = await failure(downloadRecording(`${server.baseUrl}/status/503`, join(work, "a"), opts()));
    expect([e503.retryable, e503.message]).toEqual([true, expect.stringMatching(/HTTP 503/)]);
    const e429 = await failure(downloadRecording(`${server.baseUrl}/status/429`, join(work, "a"), opts()));
    expect(e429.retryable).toBe(true);
    const refused = await failure(downloadRecording("http://127.0.0.1:1/a.wav", join(work, "a"), opts({ allowedHosts: ["127.0.0.1:1"] })));
    expect([refused.retryable, refused.message]).toEqual([true, expect.stringMatching(/network error/)]);
  });

  it("refuses everything when no host is allowed", async () => {
    const err = await failure(downloadRecording(server.fileUrl("call.wav"), join(work, "n.wav"), opts({ allowedHosts: [] })));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/no allowed hosts/);
  });
});
