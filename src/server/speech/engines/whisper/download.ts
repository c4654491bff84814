/**
 * Download a whisper.cpp ggml model from its official source and verify it (used by
 * `npm run models -- <name>`, `scripts/models.ts`).
 *
 * - Source: `${baseUrl}/ggml-<name>.bin`, `baseUrl` = https://huggingface.co/ggerganov/whisper.cpp/resolve/main
 *   (overridable, e.g. for a mirror or for tests).
 * - Checksums: the official table publishes SHA-1 only (`OFFICIAL_SHA1`), so that is what is verified
 *   for official names; the SHA-256 is computed and reported (pin it with `sha256`). A name outside the
 *   table needs an explicit `sha1` or `sha256`.
 * - The body streams to `<target>.part-<pid>` while both hashes are computed; the file is then checked
 *   with `inspectGgmlModel` (whisper.cpp would load it) and renamed into place atomically. On any
 *   failure the partial file is removed and nothing is left at the target.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { inspectGgmlModel } from "./model-file.js";
import { OFFICIAL_MODEL_BASE_URL, OFFICIAL_SHA1, whisperModelName } from "./models.js";

/** Options of `downloadModel`. */
export interface DownloadOptions {
  modelsDir: string;
  /** Where `ggml-<name>.bin` is fetched from. Default the official Hugging Face repository. */
  baseUrl?: string;
  /** Expected SHA-1 (hex); default the official one for the name. */
  sha1?: string;
  /** Expected SHA-256 (hex), checked when given. */
  sha256?: string;
  /** Download even when a usable file is already there. */
  force?: boolean;
  /** Give up when no response headers arrive within this, ms. Default 30 000. */
  connectTimeoutMs?: number;
  /** Progress callback: bytes received and total (when the server says). */
  onProgress?: (received: number, total?: number) => void;
}

/** Outcome of a download. */
export interface DownloadResult {
  path: string;
  bytes: number;
  sha1: string;
  sha256: string;
  /** False when a usable file was already there and nothing was downloaded. */
  downloaded: boolean;
}

/** A download failed; `message` is one line that says what happened and where to put the file by hand. */
export class ModelDownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelDownloadError";
  }
}

const HEX40 = /^[0-9a-f]{40}$/i;
const HEX64 = /^[0-9a-f]{64}$/i;

/**
 * Download and verify `ggml-<name>.bin` into `modelsDir`.
 * @throws ModelDownloadError (one-line message) on a bad name, no network, an HTTP error, a checksum
 *   mismatch or a file whisper.cpp would not load.
 */
export async function downloadModel(model: string, options: DownloadOptions): Promise<DownloadResult> {
  let name: string;
  try {
    name = whisperModelName(model);
  } catch (err) {
    throw new ModelDownloadError((err as Error).message);
  }
  const file = `ggml-${name}.bin`;
  const target = path.join(path.resolve(options.modelsDir), file);
  const baseUrl = (options.baseUrl ?? OFFICIAL_MODEL_BASE_URL).replace(/\/+$/, "");
  const url = `${baseUrl}/${file}`;
  const sha1 = (options.sha1 ?? OFFICIAL_SHA1[name])?.toLowerCase();
  const sha256 = options.sha256?.toLowerCase();
  if (options.sha1 && !HEX40.test(options.sha1)) throw new ModelDownloadError(`--sha1 must be 40 hex digits, got "${options.sha1}"`);
  if (sha256 && !HEX64.test(sha256)) throw new ModelDownloadError(`--sha256 must be 64 hex digits, got "${options.sha256}"`);
  if (!sha1 && !sha256) {
    throw new ModelDownloadError(
      `No published checksum for "${name}" (known: ${Object.keys(OFFICIAL_SHA1).join(", ")}); pass --sha1 or --sha256 to download it anyway.`,
    );
  }
  const byHand = `put the file at ${target} (from ${url}${sha1 ? `, SHA-1 ${sha1}` : ""})`;

  if (!options.force) {
    try {
      const info = await inspectGgmlModel(target);
      if (!info.testModel) {
        const hashes = await hashFile(target);
        if ((!sha1 || hashes.sha1 === sha1) && (!sha256 || hashes.sha256 === sha256)) {
          return { path: target, bytes: info.bytes, ...hashes, downloaded: false };
        }
      }
    } catch {
      // missing or unusable: download
    }
  }

  await mkdir(path.dirname(target), { recursive: true });
  const partial = `${target}.part-${process.pid}`;
  try {
    let response: Response;
    try {
      response = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(options.connectTimeoutMs ?? 30_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.message ?? cause?.code ?? (err as Error).message;
      throw new ModelDownloadError(`Cannot download ${file}: ${url} is unreachable (${why}). Without network, ${byHand}.`);
    }
    if (!response.ok || !response.body) {
      throw new ModelDownloadError(`Cannot download ${file}: ${url} answered HTTP ${response.status}. Check the model name, or ${byHand}.`);
    }
    const total = Number(response.headers.get("content-length")) || undefined;
    const h1 = createHash("sha1");
    const h256 = createHash("sha256");
    let received = 0;
    const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
    body.on("data", (chunk: Buffer) => {
      h1.update(chunk);
      h256.update(chunk);
      received += chunk.length;
      options.onProgress?.(received, total);
    });
    try {
      await pipeline(body, createWriteStream(partial));
    } catch (err) {
      throw new ModelDownloadError(`Download of ${file} broke off after ${received} bytes (${(err as Error).message}). Try again, or ${byHand}.`);
    }
    const got = { sha1: h1.digest("hex"), sha256: h256.digest("hex") };
    if (sha1 && got.sha1 !== sha1) {
      throw new ModelDownloadError(`Checksum mismatch for ${file} from ${url}: SHA-1 ${got.sha1}, expected ${sha1}. The file was not kept.`);
    }
    if (sha256 && got.sha256 !== sha256) {
      throw new ModelDownloadError(`Checksum mismatch for ${file} from ${url}: SHA-256 ${got.sha256}, expected ${sha256}. The file was not kept.`);
    }
    try {
      await inspectGgmlModel(partial);
    } catch (err) {
      throw new ModelDownloadError(`${file} from ${url} is not a model whisper.cpp can load (${(err as Error).message.split(": ").pop()}). The file was not kept.`);
    }
    await rename(partial, target);
    return { path: target, bytes: (await stat(target)).size, ...got, downloaded: true };
  } finally {
    await rm(partial, { force: true });
  }
}

/** SHA-1 and SHA-256 of a file, hex. */
async function hashFile(file: string): Promise<{ sha1: string; sha256: string }> {
  const { createReadStream } = await import("node:fs");
  const h1 = createHash("sha1");
  const h256 = createHash("sha256");
  for await (const chunk of createReadStream(file)) {
    h1.update(chunk as Buffer);
    h256.update(chunk as Buffer);
  }
  return { sha1: h1.digest("hex"), sha256: h256.digest("hex") };
}
