/**
 * Encryption at rest (DESIGN §9, issue 4 §4): recordings on disk and transcripts/analyses in the
 * database are sealed with AES-256-GCM (NIST SP 800-38D) from `node:crypto`.
 *
 * Envelope, version 1 (bytes):
 * `"CSE" (3) | version 0x01 (1) | IV (12, random per message) | GCM tag (16) | ciphertext`.
 * The optional associated data (AAD) binds a ciphertext to its place (e.g. `transcript:<call_id>`),
 * so a sealed value copied into another row or file does not open there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Envelope layout, for readers that open a sealed file in pieces (`sealed-file.ts`). */
export const ENVELOPE = { MAGIC: Buffer.from("CSE", "ascii"), VERSION: 1, IV_BYTES: 12, TAG_BYTES: 16, HEADER_BYTES: 3 + 1 + 12 + 16 } as const;
const { MAGIC, VERSION, IV_BYTES, TAG_BYTES, HEADER_BYTES } = ENVELOPE;

/** A sealed value could not be opened: wrong key, wrong AAD, truncated or tampered data, or not an envelope. */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

/** Seals and opens byte strings with one 32-byte key. */
export interface AtRestCipher {
  /** Encrypt `plain`; returns a version-1 envelope (29 bytes longer than `plain`). */
  seal(plain: Uint8Array, aad?: string): Buffer;
  /** Decrypt an envelope made by `seal` with the same key and AAD. @throws DecryptionError */
  open(envelope: Uint8Array, aad?: string): Buffer;
}

/**
 * A cipher for a 32-byte AES-256 key (as `PipelineConfig.encryptionKey` holds it).
 * @throws RangeError when the key is not 32 bytes
 */
export function createAtRestCipher(key: Uint8Array): AtRestCipher {
  if (key.length !== 32) throw new RangeError(`AES-256-GCM needs a 32-byte key, got ${key.length} bytes`);
  const k = Buffer.from(key);
  return {
    seal(plain, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", k, iv, { authTagLength: TAG_BYTES });
      if (aad !== undefined) cipher.setAAD(Buffer.from(aad, "utf8"));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([MAGIC, Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
    },
    open(envelope, aad) {
      const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
      if (buf.length < HEADER_BYTES || !buf.subarray(0, 3).equals(MAGIC)) throw new DecryptionError("not an encrypted envelope");
      if (buf[3] !== VERSION) throw new DecryptionError(`unsupported envelope version ${buf[3]}`);
      const iv = buf.subarray(4, 4 + IV_BYTES);
      const tag = buf.subarray(4 + IV_BYTES, HEADER_BYTES);
      const decipher = createDecipheriv("aes-256-gcm", k, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      if (aad !== undefined) decipher.setAAD(Buffer.from(aad, "utf8"));
      try {
        return Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES)), decipher.final()]);
      } catch {
        throw new DecryptionError("authentication failed (wrong key, wrong context, or tampered data)");
      }
    },
  };
}

/**
 * Write `plain` encrypted to `path` (AAD = `aad`), atomically: a temp file then rename, so a crash
 * leaves either the old file or the whole new one. Creates the folder.
 */
export async function writeEncryptedFile(cipher: AtRestCipher, path: string, plain: Uint8Array, aad?: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, cipher.seal(plain, aad), { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Read and decrypt a file written by {@link writeEncryptedFile} into memory. @throws DecryptionError, or the fs error (ENOENT…) */
export async function readEncryptedFile(cipher: AtRestCipher, path: string, aad?: string): Promise<Buffer> {
  return cipher.open(await readFile(path), aad);
}

/**
 * Encrypt a plaintext file that a stage just wrote (the downloaded recording) into `destPath`,
 * then delete the plaintext. The plaintext exists on disk only between download and this call.
 */
export async function encryptFileInPlace(cipher: AtRestCipher, plainPath: string, destPath: string, aad?: string): Promise<void> {
  const plain = await readFile(plainPath);
  await writeEncryptedFile(cipher, destPath, plain, aad);
  plain.fill(0);
  await rm(plainPath, { force: true });
}
