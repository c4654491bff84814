/**
 * Configuration of the PocketSphinx engine: defaults from Debian's packages, JSON-Schema validation
 * (ajv) of engine and per-request options, and the install check behind `ready()`.
 */
import { access, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Ajv } from "ajv";
import type { RecognizeOptions } from "../engine.js";
import { POCKETSPHINX_LIBRARIES } from "./ffi.js";

/** Options of `createPocketSphinxEngine`. Every field is optional. */
export interface PocketSphinxEngineOptions {
  /** Model directory laid out like Debian `pocketsphinx-en-us`. Default `/usr/share/pocketsphinx/model/en-us`. */
  modelDir?: string;
  /** Directory of `libpocketsphinx.so.3` / `libsphinxbase.so.3`. Default `/usr/lib/<multiarch>` (`x86_64-linux-gnu` on x64, `aarch64-linux-gnu` on arm64). */
  libDir?: string;
  /** Worker threads (1–256). Default: `os.availableParallelism()`, one per core. */
  poolSize?: number;
  /** Fresh decoders each worker keeps ready (0–16; ~92 MB each). Default 1. */
  spareDecodersPerWorker?: number;
  /** Minimum audio between partial-hypothesis checks, seconds (0.05–5). Default 0.2. */
  partialIntervalSec?: number;
}

/** `PocketSphinxEngineOptions` with every default filled in. */
export type ResolvedPocketSphinxOptions = Required<PocketSphinxEngineOptions>;

/** Command that installs what the engine needs on Debian/Ubuntu. */
export const INSTALL_HINT = "apt-get install pocketsphinx pocketsphinx-en-us";

/** Languages the en-us model serves (lower-case BCP 47 primary tags). */
export const SUPPORTED_LANGUAGES = ["en"];

const MULTIARCH: Partial<Record<string, string>> = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };

const ajv = new Ajv({ allErrors: true });

const validateEngineOptions = ajv.compile<PocketSphinxEngineOptions>({
  type: "object",
  additionalProperties: false,
  properties: {
    modelDir: { type: "string", minLength: 1 },
    libDir: { type: "string", minLength: 1 },
    poolSize: { type: "integer", minimum: 1, maximum: 256 },
    spareDecodersPerWorker: { type: "integer", minimum: 0, maximum: 16 },
    partialIntervalSec: { type: "number", minimum: 0.05, maximum: 5 },
  },
});

const validateRecognizeOptions = ajv.compile<RecognizeOptions>({
  type: "object",
  properties: {
    language: { type: "string", minLength: 1, maxLength: 64 },
    keyterms: { type: "array", items: { type: "string" } },
  },
});

function describeErrors(errors: typeof validateEngineOptions.errors): string {
  return (errors ?? []).map((e) => `${e.instancePath || "(options)"} ${e.message ?? "is invalid"}`).join("; ");
}

/**
 * Validate engine options and fill in defaults.
 * @throws Error listing each invalid field.
 */
export function resolveEngineOptions(options: PocketSphinxEngineOptions = {}): ResolvedPocketSphinxOptions {
  if (!validateEngineOptions(options)) {
    throw new Error(`Invalid PocketSphinx engine options: ${describeErrors(validateEngineOptions.errors)}`);
  }
  return {
    modelDir: options.modelDir ?? "/usr/share/pocketsphinx/model/en-us",
    libDir: options.libDir ?? `/usr/lib/${MULTIARCH[process.arch] ?? "x86_64-linux-gnu"}`,
    poolSize: options.poolSize ?? Math.max(1, os.availableParallelism()),
    spareDecodersPerWorker: options.spareDecodersPerWorker ?? 1,
    partialIntervalSec: options.partialIntervalSec ?? 0.2,
  };
}

/**
 * Validate per-request options. `language` must be `en` or `en-*` (any case); absent means English.
 * `keyterms` are accepted and ignored: the n-gram model has no cheap per-stream biasing.
 * @throws Error naming the supported languages, or the invalid field.
 */
export function checkRecognizeOptions(options: RecognizeOptions = {}): void {
  if (!validateRecognizeOptions(options)) {
    throw new Error(`Invalid recognition options: ${describeErrors(validateRecognizeOptions.errors)}`);
  }
  const language = options.language;
  if (language !== undefined && !/^en(-[a-z0-9]{1,8})*$/i.test(language)) {
    throw new Error(
      `PocketSphinx does not support language "${language}": it only supports English ("en" or "en-*", e.g. "en-US").`,
    );
  }
}

/**
 * Check that the libraries and model files exist.
 * @throws Error naming the first missing file and the package to install.
 */
export async function checkInstallation(options: ResolvedPocketSphinxOptions): Promise<void> {
  const files = [
    ...POCKETSPHINX_LIBRARIES.map((lib) => path.join(options.libDir, lib)),
    path.join(options.modelDir, "en-us.lm.bin"),
    path.join(options.modelDir, "cmudict-en-us.dict"),
    path.join(options.modelDir, "en-us", "mdef"),
    path.join(options.modelDir, "en-us", "means"),
  ];
  for (const file of files) {
    try {
      await access(file);
      if (!(await stat(file)).isFile()) throw new Error("not a file");
    } catch {
      throw new Error(
        `PocketSphinx is not installed: ${file} is missing. Install it with: ${INSTALL_HINT} (or set the engine's libDir/modelDir).`,
      );
    }
  }
}
