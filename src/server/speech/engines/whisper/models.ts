/**
 * Whisper model names, where their files live, and the official checksums.
 *
 * A model is requested as `model=whisper-<name>` (e.g. `whisper-base.en`) and found in the models
 * folder (`CALLSCRIBE_MODELS_DIR`, default `models/` in the repository) as `ggml-<name>.bin`, the name
 * whisper.cpp's download script gives it, or as `for-tests-ggml-<name>.bin` (whisper.cpp's test models:
 * vocabulary, no weights). `npm run models -- <name>` downloads `ggml-<name>.bin`.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inspectGgmlModel } from "./model-file.js";

/** Prefix of engine model names: `whisper-base.en`. */
export const MODEL_PREFIX = "whisper-";

/** Where whisper.cpp's ggml models are published (Hugging Face repository of whisper.cpp's author). */
export const OFFICIAL_MODEL_BASE_URL = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

/**
 * SHA-1 of each official model file. Only SHA-1 is published: whisper.cpp `models/README.md`
 * ("Available models", the unquantized ones and the two large q5_0) and the model card of
 * huggingface.co/ggerganov/whisper.cpp (all rows; the rows both list agree).
 */
export const OFFICIAL_SHA1: Readonly<Record<string, string>> = {
  tiny: "bd577a113a864445d4c299885e0cb97d4ba92b5f",
  "tiny-q5_1": "2827a03e495b1ed3048ef28a6a4620537db4ee51",
  "tiny-q8_0": "19e8118f6652a650569f5a949d962154e01571d9",
  "tiny.en": "c78c86eb1a8faa21b369bcd33207cc90d64ae9df",
  "tiny.en-q5_1": "3fb92ec865cbbc769f08137f22470d6b66e071b6",
  "tiny.en-q8_0": "802d6668e7d411123e672abe4cb6c18f12306abb",
  base: "465707469ff3a37a2b9b8d8f89f2f99de7299dac",
  "base-q5_1": "a3733eda680ef76256db5fc5dd9de8629e62c5e7",
  "base-q8_0": "7bb89bb49ed6955013b166f1b6a6c04584a20fbe",
  "base.en": "137c40403d78fd54d454da0f9bd998f78703390c",
  "base.en-q5_1": "d26d7ce5a1b6e57bea5d0431b9c20ae49423c94a",
  "base.en-q8_0": "bb1574182e9b924452bf0cd1510ac034d323e948",
  small: "55356645c2b361a969dfd0ef2c5a50d530afd8d5",
  "small-q5_1": "6fe57ddcfdd1c6b07cdcc73aaf620810ce5fc771",
  "small-q8_0": "bcad8a2083f4e53d648d586b7dbc0cd673d8afad",
  "small.en": "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022",
  "small.en-q5_1": "20f54878d608f94e4a8ee3ae56016571d47cba34",
  "small.en-q8_0": "9d75ff4ccfa0a8217870d7405cf8cef0a5579852",
  "small.en-tdrz": "b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1",
  medium: "fd9727b6e1217c2f614f9b698455c4ffd82463b4",
  "medium-q5_0": "7718d4c1ec62ca96998f058114db98236937490e",
  "medium-q8_0": "e66645948aff4bebbec71b3485c576f3d63af5d6",
  "medium.en": "8c30f0e44ce9560643ebd10bbe50cd20eafd3723",
  "medium.en-q5_0": "bb3b5281bddd61605d6fc76bc5b92d8f20284c3b",
  "medium.en-q8_0": "b1cf48c12c807e14881f634fb7b6c6ca867f6b38",
  "large-v1": "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299",
  "large-v2": "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6",
  "large-v2-q5_0": "00e39f2196344e901b3a2bd5814807a769bd1630",
  "large-v2-q8_0": "da97d6ca8f8ffbeeb5fd147f79010eeea194ba38",
  "large-v3": "ad82bf6a9043ceed055076d0fd39f5f186ff8062",
  "large-v3-q5_0": "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de",
  "large-v3-turbo": "4af2b29d7ec73d781377bfd1758ca957a807e941",
  "large-v3-turbo-q5_0": "e050f7970618a659205450ad97eb95a18d69c9ee",
  "large-v3-turbo-q8_0": "01bf15bedffe9f39d65c1b6ff9b687ea91f59e0e",
};

/** A model name as whisper.cpp spells it: letters, digits, dots, dashes, underscores (`base.en`, `large-v3-q5_0`). */
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

/** The repository root (three folders above `src/server/speech/engines/whisper`). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "..");

/**
 * `models/` in the repository: the folder used when none is given. CALLSCRIBE_MODELS_DIR is read
 * by the configuration (`config/`), which passes the folder on as `modelsDir`.
 */
export function defaultModelsDir(): string {
  return path.join(REPO_ROOT, "models");
}

/**
 * The bare whisper.cpp name of a model (`whisper-base.en` or `base.en` → `base.en`).
 * @throws Error when the name has characters a file name must not have.
 */
export function whisperModelName(model: string): string {
  const name = model.startsWith(MODEL_PREFIX) ? model.slice(MODEL_PREFIX.length) : model;
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`Invalid Whisper model name "${model}": expected whisper-<name> with <name> like base.en, small or large-v3-q5_0`);
  }
  return name;
}

/** English-only by name: whisper.cpp names English-only models `<size>.en[-suffix]`. */
export function isEnglishOnlyName(name: string): boolean {
  return /\.en(?:$|[-_])/.test(name);
}

/** File names that hold the model `name`, in order of preference. */
export function modelFileNames(name: string): string[] {
  return [`ggml-${name}.bin`, `for-tests-ggml-${name}.bin`];
}

/** The command that downloads a model. */
export function downloadCommand(name: string): string {
  return `npm run models -- ${name}`;
}

/** A Whisper model found in the models folder. */
export interface WhisperModelEntry {
  /** whisper.cpp name, e.g. `base.en`. The engine model is `whisper-<name>`. */
  name: string;
  path: string;
  /** True when the vocabulary is multilingual (language detection and non-English languages work). */
  multilingual: boolean;
  bytes: number;
  /** whisper.cpp's test model (vocabulary only, no weights): loads and computes, transcribes nothing. */
  testModel: boolean;
}

/**
 * List the usable Whisper models in a folder: `ggml-<name>.bin` and `for-tests-ggml-<name>.bin`, each
 * checked with `inspectGgmlModel` (files whisper.cpp would not load are left out). When both files of a
 * name exist, the real model wins. Sorted by name. A missing folder lists nothing.
 */
export async function listWhisperModels(modelsDir: string = defaultModelsDir()): Promise<WhisperModelEntry[]> {
  let files: string[];
  try {
    files = await readdir(modelsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return [];
    throw err;
  }
  const found = new Map<string, WhisperModelEntry>();
  for (const file of files.sort()) {
    const match = /^(for-tests-)?ggml-(.+)\.bin$/.exec(file);
    if (!match || !NAME_PATTERN.test(match[2]!)) continue;
    const name = match[2]!;
    const isTestFile = Boolean(match[1]);
    if (found.has(name) && isTestFile) continue;
    const filePath = path.join(modelsDir, file);
    try {
      const info = await inspectGgmlModel(filePath);
      found.set(name, { name, path: filePath, multilingual: info.multilingual, bytes: info.bytes, testModel: info.testModel });
    } catch {
      // not a loadable model (partial download, other ggml file): not listed
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}
