/**
 * Reads the shared speech corpus (`../shared/corpus` beside the repository, or `$CALLSCRIBE_CORPUS_DIR`):
 * each set's `manifest.csv` with columns `file, duration_s, sample_rate, channels, reference_text,
 * source, license, reference_quality, notes` (see the corpus README). Rows are validated with ajv.
 */
import { readFileSync, existsSync } from "node:fs";
import { resolve, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";
import Ajv from "ajv";

/** One manifest row, typed. `path` is absolute. Durations in seconds, sample rate in Hz. */
export interface CorpusEntry {
  set: string;
  file: string;
  path: string;
  durationS: number;
  sampleRate: number;
  channels: number;
  referenceText: string;
  source: string;
  license: string;
  referenceQuality: string;
  notes: string;
}

const ROW_SCHEMA = {
  type: "object",
  required: ["file", "duration_s", "sample_rate", "channels", "reference_text", "reference_quality"],
  properties: {
    file: { type: "string", minLength: 1 },
    duration_s: { type: "string", pattern: "^[0-9]+(\\.[0-9]+)?$" },
    sample_rate: { type: "string", pattern: "^[0-9]+$" },
    channels: { type: "string", pattern: "^[0-9]+$" },
    reference_text: { type: "string" },
    reference_quality: { type: "string" },
  },
} as const;

const validateRow = new Ajv({ allErrors: true }).compile<Record<string, string>>(ROW_SCHEMA);

/** The corpus root: `$CALLSCRIBE_CORPUS_DIR`, else `<repo>/../shared/corpus`. */
export function corpusDir(): string {
  const fromEnv = process.env.CALLSCRIBE_CORPUS_DIR;
  if (fromEnv) return resolve(fromEnv);
  return defaultCorpusDir();
}

/** The corpus root when `CALLSCRIBE_CORPUS_DIR` is unset: `<repo>/../shared/corpus`. */
export function defaultCorpusDir(): string {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  return resolve(repoRoot, "..", "shared", "corpus");
}

/**
 * All rows of one set's manifest.
 * @throws Error naming the file and row when the manifest is missing or a row is malformed.
 */
export function loadManifest(set: string, root = corpusDir()): CorpusEntry[] {
  const manifestPath = join(root, set, "manifest.csv");
  if (!existsSync(manifestPath)) throw new Error(`corpus manifest not found: ${manifestPath}`);
  const rows = parse(readFileSync(manifestPath, "utf8"), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  return rows.map((row: Record<string, string>, i) => {
    if (!validateRow(row)) {
      throw new Error(`${manifestPath} row ${i + 2}: ${JSON.stringify(validateRow.errors)}`);
    }
    return {
      set,
      file: row.file,
      path: join(root, set, row.file),
      durationS: Number(row.duration_s),
      sampleRate: Number(row.sample_rate),
      channels: Number(row.channels),
      referenceText: row.reference_text,
      source: row.source ?? "",
      license: row.license ?? "",
      referenceQuality: row.reference_quality,
      notes: row.notes ?? "",
    };
  });
}

/** Rows whose `reference_quality` starts with "exact": the only ones a WER figure may use (corpus README). */
export function exactReferenceEntries(set: string, root = corpusDir()): CorpusEntry[] {
  return loadManifest(set, root).filter((e) => e.referenceQuality.startsWith("exact"));
}
