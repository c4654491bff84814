/**
 * Reading a sealed file (the `crypto.ts` envelope, version 1: AES-256-GCM over the whole file) in
 * pieces, so a Range request on a recorded call's audio never holds the file in memory.
 *
 * Why this works: GCM encrypts in CTR mode (NIST SP 800-38D §7.1). With a 96-bit IV the counter
 * block of plaintext block i (16 bytes, from 0) is `IV ‖ BE32(i + 2)`, so bytes [a, b] decrypt
 * with AES-256-CTR started at `IV ‖ BE32(⌊a/16⌋ + 2)`, without the blocks before. Node's CTR
 * increments all 128 bits where GCM's inc32 wraps the low 32; they agree below 2³² − 2 blocks
 * (64 GiB), far above any recording we keep ({@link MAX_SEALED_PLAIN_BYTES} refuses more).
 *
 * CTR alone does not authenticate. So before a file is served it is verified: the whole
 * ciphertext streams through GCM (output dropped, constant memory: 64 KiB reads) and its tag is
 * checked. A verified file is remembered by (path, size, mtime, inode, IV) for `verifiedTtlMs`,
 * so a media player's many Range requests cost one pass; a rewritten file has a new IV and
 * mtime. At most `maxConcurrentVerifications` passes run at once ({@link VerifierBusyError} beyond).
 */
import { createDecipheriv } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { pipeline, Transform, type Readable } from "node:stream";
import { DecryptionError, ENVELOPE } from "./crypto";

/** Largest plaintext that CTR-offset reads handle like GCM (see the module comment). */
export const MAX_SEALED_PLAIN_BYTES = (2 ** 32 - 3) * 16;
/** Bytes of plaintext kept from the start of a verified file (for sniffing its type). */
export const HEAD_BYTES = 64;

/** A sealed file that passed verification. */
export interface VerifiedSealedFile {
  path: string;
  /** Plaintext length, bytes. */
  plainBytes: number;
  /** The envelope's IV (unique per sealing: a good strong ETag). */
  iv: Buffer;
  /** The first ≤ {@link HEAD_BYTES} plaintext bytes. */
  head: Buffer;
}

/** Too many verifications are running; try again shortly (the route answers 503). */
export class VerifierBusyError extends Error {
  constructor() {
    super("too many audio files are being verified at once");
    this.name = "VerifierBusyError";
  }
}

/** Options of {@link SealedFileReader}. */
export interface SealedFileReaderOptions {
  /** How long a verification is trusted, ms (default 10 min). */
  verifiedTtlMs?: number;
  /** Verifications remembered (default 256; the oldest go first). */
  cacheEntries?: number;
  /** Whole-file verification passes at once (default 2). */
  maxConcurrentVerifications?: number;
  now?: () => number;
}

interface Header {
  iv: Buffer;
  tag: Buffer;
  plainBytes: number;
  identity: string;
}

/** Verifies sealed files and streams byte ranges of their plaintext. */
export class SealedFileReader {
  private readonly key: Buffer;
  private readonly verified = new Map<string, { file: VerifiedSealedFile; at: number }>();
  private readonly inflight = new Map<string, Promise<VerifiedSealedFile>>();
  private running = 0;
  private readonly ttl: number;
  private readonly entries: number;
  private readonly maxRunning: number;
  private readonly now: () => number;

  /** @param key the 32-byte at-rest key (CALLSCRIBE_ENCRYPTION_KEY) @throws RangeError for another length */
  constructor(key: Uint8Array, opts: SealedFileReaderOptions = {}) {
    if (key.length !== 32) throw new RangeError(`AES-256 needs a 32-byte key, got ${key.length} bytes`);
    this.key = Buffer.from(key);
    this.ttl = opts.verifiedTtlMs ?? 600_000;
    this.entries = opts.cacheEntries ?? 256;
    this.maxRunning = opts.maxConcurrentVerifications ?? 2;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Check the whole file's GCM tag (with `aad`), or reuse a recent check of the same file.
   * @throws DecryptionError (not an envelope, wrong key/AAD, tampered), VerifierBusyError, or the fs error (ENOENT…)
   */
  async verify(path: string, aad: string): Promise<VerifiedSealedFile> {
    const fh = await open(path, "r");
    let header: Header;
    try {
      header = await readHeader(fh);
    } finally {
      await fh.close();
    }
    const cacheKey = `${path}\0${aad}\0${header.identity}`;
    const hit = this.verified.get(cacheKey);
    if (hit && this.now() - hit.at < this.ttl) return hit.file;
    const pending = this.inflight.get(cacheKey);
    if (pending) return pending;
    if (this.running >= this.maxRunning) throw new VerifierBusyError();
    this.running++;
    const p = this.fullPass(path, aad, header).finally(() => {
      this.running--;
      this.inflight.delete(cacheKey);
    });
    this.inflight.set(cacheKey, p);
    const file = await p;
    this.verified.delete(cacheKey);
    this.verified.set(cacheKey, { file, at: this.now() });
    while (this.verified.size > this.entries) this.verified.delete(this.verified.keys().next().value!);
    return file;
  }

  /**
   * Plaintext bytes `start`…`end` (inclusive, 0-based) of a verified file, decrypted as they are
   * read. The stream errors with DecryptionError when the file changed since it was verified.
   */
  async range(file: VerifiedSealedFile, start: number, end: number): Promise<Readable> {
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end < file.plainBytes)) {
      throw new RangeError(`bytes ${start}-${end} are outside 0-${file.plainBytes - 1}`);
    }
    const fh = await open(file.path, "r");
    try {
      const header = await readHeader(fh);
      if (!header.iv.equals(file.iv) || header.plainBytes !== file.plainBytes) throw new DecryptionError("the file changed since it was verified");
    } catch (err) {
      await fh.close();
      throw err;
    }
    const firstBlock = Math.floor(start / 16);
    const counter = Buffer.alloc(16);
    file.iv.copy(counter, 0);
    counter.writeUInt32BE(firstBlock + 2, 12);
    const ctr = createDecipheriv("aes-256-ctr", this.key, counter);
    const source = createReadStream("", { fd: fh, start: ENVELOPE.HEADER_BYTES + firstBlock * 16, end: ENVELOPE.HEADER_BYTES + end, highWaterMark: 64 * 1024 });
    let skip = start - firstBlock * 16;
    const dropLead = new Transform({
      transform(chunk: Buffer, _enc, done) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          return done();
        }
        const out = skip ? chunk.subarray(skip) : chunk;
        skip = 0;
        done(null, out);
      },
    });
    return pipeline(source, ctr, dropLead, () => undefined);
  }

  private async fullPass(path: string, aad: string, header: Header): Promise<VerifiedSealedFile> {
    const gcm = createDecipheriv("aes-256-gcm", this.key, header.iv, { authTagLength: ENVELOPE.TAG_BYTES });
    gcm.setAuthTag(header.tag);
    gcm.setAAD(Buffer.from(aad, "utf8"));
    const head: Buffer[] = [];
    let headBytes = 0;
    const keepHead = (plain: Buffer) => {
      if (headBytes >= HEAD_BYTES || plain.length === 0) return;
      const part = Buffer.from(plain.subarray(0, HEAD_BYTES - headBytes));
      head.push(part);
      headBytes += part.length;
    };
    let read = 0;
    for await (const chunk of createReadStream(path, { start: ENVELOPE.HEADER_BYTES, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
      read += chunk.length;
      const plain = gcm.update(chunk);
      keepHead(plain);
      plain.fill(0);
    }
    if (read !== header.plainBytes) throw new DecryptionError("the file changed while it was verified");
    try {
      keepHead(gcm.final());
    } catch {
      throw new DecryptionError("authentication failed (wrong key, wrong context, or tampered data)");
    }
    return { path, plainBytes: header.plainBytes, iv: header.iv, head: Buffer.concat(head) };
  }
}

async function readHeader(fh: FileHandle): Promise<Header> {
  const st = await fh.stat();
  const buf = Buffer.alloc(ENVELOPE.HEADER_BYTES);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  if (bytesRead < ENVELOPE.HEADER_BYTES || !buf.subarray(0, 3).equals(ENVELOPE.MAGIC)) throw new DecryptionError("not an encrypted envelope");
  if (buf[3] !== ENVELOPE.VERSION) throw new DecryptionError(`unsupported envelope version ${buf[3]}`);
  const plainBytes = st.size - ENVELOPE.HEADER_BYTES;
  if (plainBytes > MAX_SEALED_PLAIN_BYTES) throw new DecryptionError("the file is too large to read in pieces");
  const iv = Buffer.from(buf.subarray(4, 4 + ENVELOPE.IV_BYTES));
  const tag = Buffer.from(buf.subarray(4 + ENVELOPE.IV_BYTES, ENVELOPE.HEADER_BYTES));
  return { iv, tag, plainBytes, identity: `${st.size}:${st.mtimeMs}:${st.ino}:${iv.toString("hex")}` };
}
