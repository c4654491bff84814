/** Paths the end-to-end tests use, resolved from the repository root. */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (absolute). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Real speech with references: `../shared/corpus`, or `CALLSCRIBE_CORPUS_DIR`. */
export const CORPUS_DIR = process.env.CALLSCRIBE_CORPUS_DIR ?? resolve(REPO_ROOT, "../shared/corpus");
/** Debian's Chromium (DESIGN §8); never a downloaded browser. Override with `CHROMIUM_PATH`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** @throws Error naming what is missing and how to get it */
export function requireFile(path: string, hint: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
  return path;
}
