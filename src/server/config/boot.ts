/**
 * The boot step that touches the disk, kept apart from reading the configuration so that every
 * configuration error comes first: {@link prepareDataDir} creates the data dir and, in embedded dev
 * mode, reads or generates its encryption key. Failures name the variable and the path.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDirFullError, isDiskFull } from "../store/disk-full";
import { decodeKey } from "./env";
import { ConfigError } from "./error";
import type { PipelineConfig, PipelineSettings } from "./index";

/** Name of the generated key file inside the data dir. */
export const GENERATED_KEY_FILE = "encryption.key";

/** Options of {@link prepareDataDir}. */
export interface PrepareDataDirOptions {
  /** Receives boot warnings (a generated encryption key). Default: `console.warn`. */
  warn?: (message: string) => void;
}

/**
 * Make the pipeline's settings bootable. With CALLSCRIBE_ENCRYPTION_KEY set: nothing to do (the key
 * comes from the environment). Embedded dev mode (no key; DATABASE_URL needs one, see
 * `loadConfig`): creates the data dir and reads `<dataDir>/encryption.key`, generating 32 random
 * bytes (hex, mode 0600) when it does not exist, and warns that the key should be set explicitly.
 * @throws ConfigError (CALLSCRIBE_DATA_DIR or CALLSCRIBE_ENCRYPTION_KEY) naming the path: the folder
 *   cannot be created or is full, the key file cannot be read or written or holds no 32-byte key
 */
export function prepareDataDir(settings: PipelineSettings, options: PrepareDataDirOptions = {}): PipelineConfig {
  if (settings.encryptionKey) return { ...settings, encryptionKey: settings.encryptionKey, encryptionKeySource: "env" };
  const warn = options.warn ?? ((m: string) => console.warn(m));
  return { ...settings, encryptionKey: readOrCreateKeyFile(settings.dataDir, warn), encryptionKeySource: "data-dir" };
}

/** Embedded dev mode: the key in `<dataDir>/encryption.key`, created (0600) when missing. */
function readOrCreateKeyFile(dataDir: string, warn: (m: string) => void): Buffer {
  const file = join(dataDir, GENERATED_KEY_FILE);
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (e) {
    if (isDiskFull(e)) throw dataDirFullError(dataDir);
    throw new ConfigError("CALLSCRIBE_DATA_DIR", `Invalid environment variable CALLSCRIBE_DATA_DIR=${JSON.stringify(dataDir)}: cannot create the folder (${(e as Error).message}).`);
  }
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ConfigError("CALLSCRIBE_ENCRYPTION_KEY", `Cannot read the generated key ${file} (${(e as Error).message}); set CALLSCRIBE_ENCRYPTION_KEY instead.`);
    }
  }
  if (text !== undefined) {
    const key = decodeKey(text);
    if (!key) throw new ConfigError("CALLSCRIBE_ENCRYPTION_KEY", `The key file ${file} does not hold a 32-byte key (64 hex characters); fix it or set CALLSCRIBE_ENCRYPTION_KEY.`);
    return key;
  }
  const key = randomBytes(32);
  // `wx`: never overwrite a key another process wrote meanwhile (data encrypted under it would be lost).
  try {
    writeFileSync(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return readOrCreateKeyFile(dataDir, warn);
    if (isDiskFull(e)) throw dataDirFullError(dataDir);
    throw new ConfigError("CALLSCRIBE_DATA_DIR", `Cannot write the generated key to ${file} (${(e as Error).message}); set CALLSCRIBE_ENCRYPTION_KEY or fix CALLSCRIBE_DATA_DIR.`);
  }
  warn(
    `CALLSCRIBE_ENCRYPTION_KEY is not set: generated a key in ${file} (mode 0600). Back it up; recordings and transcripts cannot be read without it. Set CALLSCRIBE_ENCRYPTION_KEY in production.`,
  );
  return key;
}
