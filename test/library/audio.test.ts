/**
 * `GET /v1/transcripts/:id/audio` (issue 9 §3, `src/server/library/audio.ts`) on embedded PGlite:
 * a recorded call with a real corpus recording sealed by the real at-rest crypto, as the download
 * stage leaves it (path `recordings/<job>.enc`, AAD `audio:<call_id>`), taken into the library by
 * its real sync. Ranges (first bytes, unaligned middle, suffix, open-ended, 416, several, If-Range),
 * auth (401/403/200 on the matched route), 404 for transcripts without audio, 500 for a tampered
 * file, 410 once retention deleted it. The reader's pieces are checked against the plaintext.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import type { Transcript } from "../../src/contracts";
import { buildServer } from "../../src/server/app";
import { sniffAudioType } from "../../src/server/library/audio";
import { startLibrary, type LibraryService } from "../../src/server/library/service";
import { deleteExpiredAudio } from "../../src/server/pipeline/retention";
import { audioAad } from "../../src/server/pipeline/run-call";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { CallRepository } from "../../src/server/store/calls";
import { createAtRestCipher, writeEncryptedFile } from "../../src/server/store/crypto";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";
import { migrate } from "../../src/server/store/migrations";
import { SealedFileReader, VerifierBusyError } from "../../src/server/store/sealed-file";

const API_KEY = "audio-test-key-0123456789";
const DESKTOP_SECRET = "audio-test-desktop-secret-0123456789";
/** Real read speech (Debian pocketsphinx-testdata), 16 kHz mono PCM16 WAV. */
const WAV = readFileSync(`${corpusDir()}/debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0890.wav`);
const KEY = randomBytes(32);
const cipher = createAtRestCipher(KEY);

let dir: string;
let db: Database;
let calls: CallRepository;
let service: LibraryService;
let engine: PocketSphinxEngine;
let app: FastifyInstance;
let recordingId: string;
let dictationId: string;
let audioPath: string;
let libraryToken: string;
let listenToken: string;
const callId = `audio-test-${randomUUID()}`;

const key = { authorization: `Token ${API_KEY}` };
const get = (path: string, headers: Record<string, string> = key) => app.inject({ method: "GET", url: path, headers });

/** A transcript as the pipeline stores it (the corpus reference text; no engine run needed for audio). */
function transcript(id: string, source: "recording" | "dictation"): Transcript {
  return {
    type: "fdc3.transcript",
    id: { transcriptId: `t-${id}`, callId: id },
    source,
    timeRange: { type: "fdc3.timeRange", startTime: "2026-11-20T10:00:00.000Z" },
    language: "en",
    text: "she was sensible and clever",
    segments: [{ speaker: "customer", start: 0, end: 2, text: "she was sensible and clever", confidence: 0.9 }],
    duration: 2,
  } as unknown as Transcript;
}

async function mint(secret: string, scope: "library" | "listen"): Promise<string> {
  const res = await app.inject({ method: "POST", url: "/v1/auth/token", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, payload: { scope } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().access_token;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callscribe-audio-"));
  db = await openPgliteDatabase(dir);
  await migrate(db);
  calls = new CallRepository(db, cipher);
  // A recorded call as the pipeline leaves it: created by the webhook, audio downloaded and sealed, transcribed, done.
  const { jobId } = await calls.createCall({ call_id: callId, recording_url: "http://127.0.0.1:9/call.wav", direction: "inbound" });
  audioPath = join(dir, "recordings", `${jobId}.enc`);
  await writeEncryptedFile(cipher, audioPath, WAV, audioAad(callId));
  await calls.setAudioPath(callId, audioPath);
  await calls.saveTranscript(callId, transcript(callId, "recording"));
  await calls.setStatus(callId, "done");

  service = startLibrary({ db, encryptionKey: KEY, calls, syncEverySec: 3600 });
  await service.sync();
  engine = createPocketSphinxEngine({ poolSize: 1 });
  app = buildServer({ engine, apiKey: API_KEY, desktopSecret: DESKTOP_SECRET });
  service.register(app);
  await app.ready();
  const hits = (await get("/v1/transcripts?source=recording")).json().hits as { id: string; callId?: string }[];
  recordingId = hits.find((h) => h.callId === callId)!.id;
  dictationId = (await service.library.add(transcript("dictation-1", "dictation"))).id;
  libraryToken = await mint(DESKTOP_SECRET, "library");
  listenToken = await mint(DESKTOP_SECRET, "listen");
}, 60_000);

afterAll(async () => {
  await app?.close();
  service?.stop();
  await engine?.close();
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("GET /v1/transcripts/:id/audio", () => {
  it("the entry says the audio is available, and the whole file comes back decrypted", async () => {
    const entry = (await get(`/v1/transcripts/${recordingId}`)).json();
    expect(entry.audio).toEqual({ status: "available", bytes: WAV.length });
    const res = await get(`/v1/transcripts/${recordingId}/audio`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("audio/wav");
    expect(res.headers["accept-ranges"]).toBe("bytes");
    expect(res.headers["content-length"]).toBe(String(WAV.length));
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{24}"$/);
    expect(res.rawPayload.equals(WAV)).toBe(true);
    const head = await app.inject({ method: "HEAD", url: `/v1/transcripts/${recordingId}/audio`, headers: { ...key, range: "bytes=0-99" } });
    expect(head.statusCode).toBe(206);
    expect(head.headers["content-length"]).toBe("100");
    expect(head.rawPayload.length).toBe(0);
    // The file on disk is the sealed envelope, not the WAV.
    expect(readFileSync(audioPath).subarray(0, 3).toString()).toBe("CSE");
    expect(readFileSync(audioPath).includes(WAV.subarray(44, 1044))).toBe(false);
  });

  it("serves single ranges: first bytes, an unaligned middle, a suffix, open-ended, clamped end", async () => {
    const n = WAV.length;
    const cases: [string, number, number][] = [
      ["bytes=0-99", 0, 99],
      ["bytes=1001-40007", 1001, 40007],
      ["bytes=17-17", 17, 17],
      [`bytes=-500`, n - 500, n - 1],
      [`bytes=${n - 10}-`, n - 10, n - 1],
      [`bytes=${n - 3}-${n + 1000}`, n - 3, n - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range });
      expect(res.statusCode, range).toBe(206);
      expect(res.headers["content-range"], range).toBe(`bytes ${start}-${end}/${n}`);
      expect(res.headers["content-length"], range).toBe(String(end - start + 1));
      expect(res.rawPayload.equals(WAV.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it("answers 416 for an unsatisfiable range, and the whole file for several ranges or a stale If-Range", async () => {
    const n = WAV.length;
    for (const range of [`bytes=${n}-`, `bytes=${n + 5}-${n + 10}`, "bytes=-0"]) {
      const res = await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range });
      expect(res.statusCode, range).toBe(416);
      expect(res.headers["content-range"]).toBe(`bytes */${n}`);
      expect(res.json().err_code).toBe("RANGE_NOT_SATISFIABLE");
    }
    const several = await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range: "bytes=0-9,500-509" });
    expect(several.statusCode).toBe(200);
    expect(several.rawPayload.length).toBe(n);
    const malformed = await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range: "bytes=abc" });
    expect(malformed.statusCode).toBe(200);
    const etag = (await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range: "bytes=0-0" })).headers.etag as string;
    expect((await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range: "bytes=0-9", "if-range": etag })).statusCode).toBe(206);
    expect((await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range: "bytes=0-9", "if-range": '"stale"' })).statusCode).toBe(200);
  });

  it("authenticates on the matched route: 401 without a credential, 403 for a listen token, 200/206 for a library token", async () => {
    const path = `/v1/transcripts/${recordingId}/audio`;
    expect((await get(path, {})).statusCode).toBe(401);
    expect((await get(path, { authorization: "Token wrong-key-0000000000" })).statusCode).toBe(401);
    const refused = await get(path, { authorization: `Bearer ${listenToken}` });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().err_code).toBe("INSUFFICIENT_PERMISSIONS");
    // The encoded path reaches the same route, and the same auth.
    expect((await get(`/v1/transcripts/${recordingId}/%61udio`, {})).statusCode).toBe(401);
    const ok = await get(path, { authorization: `Bearer ${libraryToken}`, range: "bytes=0-11" });
    expect(ok.statusCode).toBe(206);
    expect(ok.rawPayload.subarray(0, 4).toString()).toBe("RIFF");
  });

  it("404 for an unknown id or a transcript without recorded audio; 400 for a malformed id", async () => {
    const unknown = await get(`/v1/transcripts/${randomUUID()}/audio`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().err_code).toBe("NO_AUDIO");
    const dictation = await get(`/v1/transcripts/${dictationId}/audio`);
    expect(dictation.statusCode).toBe(404);
    expect(dictation.json().err_msg).toMatch(/only recorded calls/);
    expect((await get(`/v1/transcripts/${dictationId}`)).json().audio).toEqual({ status: "none" });
    expect((await get("/v1/transcripts/not-a-uuid/audio")).statusCode).toBe(400);
  });

  it("refuses a tampered file with 500, never serving its bytes", async () => {
    const sealed = readFileSync(audioPath);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 100] ^= 0x01;
    writeFileSync(audioPath, tampered);
    try {
      const res = await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range: "bytes=0-99" });
      expect(res.statusCode).toBe(500);
      expect(res.json().err_code).toBe("AUDIO_UNREADABLE");
    } finally {
      writeFileSync(audioPath, sealed);
    }
    expect((await get(`/v1/transcripts/${recordingId}/audio`, { ...key, range: "bytes=0-99" })).statusCode).toBe(206);
  });

  it("410 Gone once retention deleted the audio; the entry says so", async () => {
    const deleted = await deleteExpiredAudio(calls, 0, new Date(Date.now() + 1000));
    expect(deleted).toContain(callId);
    expect(existsSync(audioPath)).toBe(false);
    const res = await get(`/v1/transcripts/${recordingId}/audio`);
    expect(res.statusCode).toBe(410);
    expect(res.json().err_code).toBe("AUDIO_DELETED");
    expect(res.json().err_msg).toMatch(/no longer retained/);
    const entry = (await get(`/v1/transcripts/${recordingId}`)).json();
    expect(entry.audio.status).toBe("deleted");
    expect(Number.isNaN(Date.parse(entry.audio.deletedAt))).toBe(false);
  });
});

describe("SealedFileReader", () => {
  it("decrypts any range of a sealed file like the whole-file open, across block boundaries", async () => {
    const plain = randomBytes(300_001);
    const path = join(dir, "reader.enc");
    await writeEncryptedFile(cipher, path, plain, "audio:x");
    const reader = new SealedFileReader(KEY);
    const file = await reader.verify(path, "audio:x");
    expect(file.plainBytes).toBe(plain.length);
    expect(file.head.equals(plain.subarray(0, 64))).toBe(true);
    const read = async (a: number, b: number) => Buffer.concat(await (await reader.range(file, a, b)).toArray());
    for (const [a, b] of [[0, 0], [0, 15], [15, 16], [16, 31], [65_530, 65_560], [123_457, 299_999], [0, plain.length - 1], [plain.length - 1, plain.length - 1]]) {
      expect((await read(a, b)).equals(plain.subarray(a, b + 1)), `${a}-${b}`).toBe(true);
    }
    await expect(reader.verify(path, "audio:y")).rejects.toThrow(/authentication failed/);
  });

  it("bounds the whole-file checks running at once", async () => {
    const paths = [0, 1].map((i) => join(dir, `busy-${i}.enc`));
    for (const p of paths) await writeEncryptedFile(cipher, p, randomBytes(4 * 1024 * 1024), "a");
    const reader = new SealedFileReader(KEY, { maxConcurrentVerifications: 1 });
    const first = reader.verify(paths[0], "a");
    await new Promise((r) => setImmediate(r));
    const results = await Promise.allSettled([first, reader.verify(paths[1], "a")]);
    expect(results[0].status).toBe("fulfilled");
    expect(results[1].status === "rejected" && results[1].reason instanceof VerifierBusyError).toBe(true);
  });

  it("sniffs the audio formats the decode stage takes", () => {
    expect(sniffAudioType(WAV.subarray(0, 64))).toBe("audio/wav");
    expect(sniffAudioType(Buffer.from("fLaC\0\0\0\x22"))).toBe("audio/flac");
    expect(sniffAudioType(Buffer.from("OggS\0\x02"))).toBe("audio/ogg");
    expect(sniffAudioType(Buffer.from("ID3\x04\0\0"))).toBe("audio/mpeg");
    expect(sniffAudioType(Buffer.from("hello"))).toBe("application/octet-stream");
  });
});
