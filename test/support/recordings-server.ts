/**
 * A local HTTP server that plays a call recorder's file store, for download/decode/transcribe
 * tests: it serves real corpus recordings (`../shared/corpus`, or `$CALLSCRIBE_CORPUS_DIR`)
 * re-encoded at test time into a temp dir as WAV, μ-law WAV, A-law WAV, MP3, FLAC and Ogg Opus
 * (see `audio-encoders.ts`), plus misbehaving routes for the failure cases.
 *
 * Routes:
 * - `GET /files/<name>`: a file from the temp dir, with Content-Length and a Content-Type by extension
 * - `GET /status/<code>`: answers that status with a short body
 * - `GET /redirect?to=<absolute url>`: 302 to `to`
 * - `GET /slow`: sends headers and one byte, then stalls (for timeouts)
 * - `GET /huge?bytes=N&declare=0|1`: N bytes of zeros, with or without an honest Content-Length
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { readFileSync } from "node:fs";
import { resample } from "../../src/server/speech/audio/resample";
import { encodeFlac, encodeMp3, encodeOggOpus, encodeWavG711, encodeWavPcm16, readWav, type PcmAudio } from "./audio-encoders";

export { corpusDir } from "../../src/eval/corpus";

const CONTENT_TYPES: Record<string, string> = {
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".flac": "audio/flac",
  ".ogg": "audio/ogg",
  ".bin": "application/octet-stream",
};

/** A running recordings server. */
export interface RecordingsServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** `127.0.0.1:<port>`, the allow-list entry for this server. */
  host: string;
  /** The temp dir the files are served from. */
  dir: string;
  /** URL of a served file. */
  fileUrl(name: string): string;
  /** Write a file into the served dir. */
  addFile(name: string, bytes: Uint8Array): Promise<string>;
  /** Paths requested so far, in order (path and query). */
  requests: string[];
  /** The Host header of each request, in order. */
  requestHosts: string[];
  /** Stop the server and delete the temp dir. */
  close(): Promise<void>;
}

/** The variants {@link addEncodings} writes, by key. */
export type Encoding = "wav" | "mulaw" | "alaw" | "mp3" | "flac" | "ogg";

/** File name of an encoding of `base`: `x.wav`, `x.mulaw.wav`, `x.alaw.wav`, `x.mp3`, `x.flac`, `x.opus.ogg`. */
export function encodedName(base: string, encoding: Encoding): string {
  return { wav: `${base}.wav`, mulaw: `${base}.mulaw.wav`, alaw: `${base}.alaw.wav`, mp3: `${base}.mp3`, flac: `${base}.flac`, ogg: `${base}.opus.ogg` }[encoding];
}

/** Encode one recording in every format and add the files; returns file name by encoding. */
export async function addEncodings(server: RecordingsServer, base: string, audio: PcmAudio): Promise<Record<Encoding, string>> {
  const bytes: Record<Encoding, Uint8Array> = {
    wav: encodeWavPcm16(audio),
    mulaw: encodeWavG711(audio, "mulaw"),
    alaw: encodeWavG711(audio, "alaw"),
    mp3: encodeMp3(audio),
    flac: await encodeFlac(audio),
    ogg: await encodeOggOpus(audio),
  };
  const names = {} as Record<Encoding, string>;
  for (const [encoding, data] of Object.entries(bytes) as [Encoding, Uint8Array][]) {
    names[encoding] = encodedName(base, encoding);
    await server.addFile(names[encoding], data);
  }
  return names;
}

/** Read a corpus WAV as planar floats, optionally resampled (libsamplerate) to `sampleRate` Hz. */
export async function loadCorpusWav(path: string, sampleRate?: number): Promise<PcmAudio> {
  const audio = readWav(readFileSync(path));
  if (!sampleRate || sampleRate === audio.sampleRate) return audio;
  return { sampleRate, channels: await Promise.all(audio.channels.map((c) => resample(c, audio.sampleRate, sampleRate))) };
}

/** One turn of a built two-speaker call: `[start, end]` in seconds, on `channel`. */
export interface Turn {
  channel: number;
  start: number;
  end: number;
}

/**
 * Build a stereo "call" from real mono recordings, one party per channel, alternating turns:
 * each clip is placed on its channel after the previous one ends plus `gapSec` of silence, the
 * other channel silent meanwhile. All clips must share `sampleRate`.
 * @returns the stereo audio and the turns (seconds)
 */
export function buildStereoCall(clips: { channel: 0 | 1; audio: PcmAudio }[], gapSec = 0.8, leadSec = 0.5): { audio: PcmAudio; turns: Turn[] } {
  const rate = clips[0].audio.sampleRate;
  if (clips.some((c) => c.audio.sampleRate !== rate)) throw new Error("buildStereoCall: clips must share one sample rate");
  const gap = Math.round(gapSec * rate);
  const lead = Math.round(leadSec * rate);
  const total = lead + clips.reduce((n, c) => n + c.audio.channels[0].length + gap, 0);
  const channels = [new Float32Array(total), new Float32Array(total)];
  const turns: Turn[] = [];
  let at = lead;
  for (const clip of clips) {
    const mono = clip.audio.channels[0];
    channels[clip.channel].set(mono, at);
    turns.push({ channel: clip.channel, start: at / rate, end: (at + mono.length) / rate });
    at += mono.length + gap;
  }
  return { audio: { sampleRate: rate, channels }, turns };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** Start the server on 127.0.0.1 and a free port, with an empty temp dir. */
export async function startRecordingsServer(): Promise<RecordingsServer> {
  const dir = await mkdtemp(join(tmpdir(), "callscribe-recordings-"));
  const requests: string[] = [];
  const requestHosts: string[] = [];
  const stalled = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push(url.pathname + url.search);
    requestHosts.push(req.headers.host ?? "");
    const path = url.pathname;
    if (path.startsWith("/files/")) {
      const name = basename(decodeURIComponent(path.slice("/files/".length)));
      const file = join(dir, name);
      stat(file).then(
        (s) => {
          const ext = name.slice(name.lastIndexOf("."));
          res.writeHead(200, { "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream", "content-length": String(s.size) });
          createReadStream(file).pipe(res);
        },
        () => send(res, 404, "not found"),
      );
      return;
    }
    const status = /^\/status\/(\d{3})$/.exec(path);
    if (status) return send(res, Number(status[1]), `status ${status[1]}`);
    if (path === "/redirect") {
      const to = url.searchParams.get("to") ?? "/";
      return send(res, 302, "redirect", { location: to });
    }
    if (path === "/slow") {
      res.writeHead(200, { "content-type": "audio/wav" });
      res.write(Buffer.from("R"));
      stalled.add(res);
      res.on("close", () => stalled.delete(res));
      return;
    }
    if (path === "/huge") {
      const bytes = Number(url.searchParams.get("bytes") ?? 0);
      const declare = url.searchParams.get("declare") !== "0";
      res.writeHead(200, { "content-type": "application/octet-stream", ...(declare ? { "content-length": String(bytes) } : {}) });
      const chunk = Buffer.alloc(64 * 1024);
      let left = bytes;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", pump);
        }
        res.end();
      };
      res.on("error", () => undefined);
      pump();
      return;
    }
    send(res, 404, "no such route");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    host: `127.0.0.1:${port}`,
    dir,
    requests,
    requestHosts,
    fileUrl: (name) => `${baseUrl}/files/${encodeURIComponent(name)}`,
    async addFile(name, bytes) {
      const path = join(dir, basename(name));
      await writeFile(path, bytes);
      return path;
    },
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
