import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createAtRestCipher, DecryptionError, encryptFileInPlace, readEncryptedFile, writeEncryptedFile } from "../../src/server/store/crypto";

const dir = mkdtempSync(join(tmpdir(), "callscribe-crypto-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("AES-256-GCM at rest", () => {
  const key = randomBytes(32);
  const cipher = createAtRestCipher(key);
  const plain = Buffer.from("the customer asked for a refund on invoice 4471", "utf8");

  it("round-trips, with a fresh IV per message and a versioned envelope", () => {
    const a = cipher.seal(plain, "transcript:c1");
    const b = cipher.seal(plain, "transcript:c1");
    expect(a.subarray(0, 4).toString("latin1")).toBe("CSE\x01");
    expect(a.length).toBe(plain.length + 3 + 1 + 12 + 16);
    expect(a.equals(b)).toBe(false); // random IV
    expect(a.includes(plain)).toBe(false);
    expect(cipher.open(a, "transcript:c1").equals(plain)).toBe(true);
  });

  it("refuses a wrong key, a wrong AAD, a flipped bit, a truncated or foreign envelope", () => {
    const sealed = cipher.seal(plain, "transcript:c1");
    expect(() => createAtRestCipher(randomBytes(32)).open(sealed, "transcript:c1")).toThrow(DecryptionError);
    expect(() => cipher.open(sealed, "transcript:c2")).toThrow(DecryptionError);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] ^= 1;
    expect(() => cipher.open(flipped, "transcript:c1")).toThrow(/authentication failed/);
    expect(() => cipher.open(sealed.subarray(0, 20), "transcript:c1")).toThrow(/not an encrypted envelope/);
    const v2 = Buffer.from(sealed);
    v2[3] = 2;
    expect(() => cipher.open(v2, "transcript:c1")).toThrow(/unsupported envelope version 2/);
  });

  it("needs a 32-byte key", () => {
    expect(() => createAtRestCipher(randomBytes(16))).toThrow(RangeError);
  });

  it("encrypts a downloaded file in place and reads it back; the plaintext is gone", async () => {
    const audio = randomBytes(100_000);
    const plainPath = join(dir, "rec.download");
    const encPath = join(dir, "sub", "rec.enc");
    writeFileSync(plainPath, audio);
    await encryptFileInPlace(cipher, plainPath, encPath, "audio:c1");
    expect(existsSync(plainPath)).toBe(false);
    const onDisk = readFileSync(encPath);
    expect(onDisk.includes(audio.subarray(0, 64))).toBe(false);
    expect((await readEncryptedFile(cipher, encPath, "audio:c1")).equals(audio)).toBe(true);
    await expect(readEncryptedFile(cipher, encPath, "audio:c2")).rejects.toThrow(DecryptionError);
    await writeEncryptedFile(cipher, encPath, Buffer.from("new"), "audio:c1");
    expect((await readEncryptedFile(cipher, encPath, "audio:c1")).toString()).toBe("new");
  });
});
