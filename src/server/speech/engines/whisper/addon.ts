/**
 * The smart-whisper native addon (whisper.cpp compiled by `scripts/build-whisper-addon.ts`), loaded
 * directly rather than through smart-whisper's `index.js`: that module creates `~/.smart-whisper/models`
 * when imported and drops native errors (its transcribe promise never settles when whisper_full fails).
 *
 * Binding contract (smart-whisper 0.8.1 `src/binding/*.cc`):
 * - `WhisperModel.load(path, gpu)` → Promise<WhisperModel>: `whisper_init_from_file_with_params_no_state`
 *   on the libuv thread pool. Never call it on an unchecked file (see `model-file.ts`).
 * - `transcribe(handle, Float32Array, params, finish, progress)`: `whisper_full_with_state` with a fresh
 *   state, on the libuv thread pool; `finish(segments)` or `finish(Error)` on failure.
 * - `model.free()` → Promise<void>.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { WhisperSegment } from "./words.js";

/** An opaque whisper context handle. */
export type WhisperHandle = { readonly __whisperHandle: unique symbol };

/** A loaded model. */
export interface NativeWhisperModel {
  readonly handle: WhisperHandle | null;
  readonly freed: boolean;
  free(): Promise<void>;
}

/** `whisper_full_params` fields the engine sets (names as smart-whisper reads them). */
export interface NativeTranscribeParams {
  /** 0 greedy, 1 beam search. */
  strategy: 0 | 1;
  n_threads: number;
  language: string;
  initial_prompt?: string;
  /** Encoder context (0 = the model's 1500, i.e. 30 s); smaller values encode less padding: faster, somewhat less accurate. */
  audio_ctx: number;
  token_timestamps: boolean;
  no_context: boolean;
  single_segment: boolean;
  suppress_blank: boolean;
  suppress_non_speech_tokens: boolean;
  temperature: number;
  temperature_inc: number;
  entropy_thold: number;
  logprob_thold: number;
  no_speech_thold: number;
  best_of: number;
  beam_size: number;
  max_tokens: number;
  print_progress: boolean;
  print_realtime: boolean;
  print_timestamps: boolean;
  print_special: boolean;
  format: "detail";
}

/** The addon's exports. */
export interface WhisperAddon {
  WhisperModel: { load(file: string, gpu: boolean): Promise<NativeWhisperModel> };
  transcribe(
    handle: WhisperHandle,
    pcm: Float32Array,
    params: Partial<NativeTranscribeParams>,
    finish: (result: WhisperSegment[] | Error) => void,
    progress: (segment: WhisperSegment) => void,
  ): void;
}

/** How the addon was built (the stamp `scripts/build-whisper-addon.ts` writes). */
export interface AddonBuildInfo {
  smartWhisper: string;
  nodeAbi: string;
  flags: string;
  cpu: string;
  builtSec?: number;
}

/** Path of the compiled addon. @throws Error when smart-whisper is not installed. */
export function addonPath(): string {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.dirname(require.resolve("smart-whisper/package.json"));
  } catch {
    throw new Error("The Whisper engine needs the npm package smart-whisper: run npm ci");
  }
  return path.join(dir, "build", "Release", "smart-whisper.node");
}

/** The build stamp, or undefined when the addon was not built by our script. */
export function addonBuildInfo(): AddonBuildInfo | undefined {
  try {
    return JSON.parse(readFileSync(path.join(path.dirname(addonPath()), "..", "callscribe-build.json"), "utf8")) as AddonBuildInfo;
  } catch {
    return undefined;
  }
}

/**
 * Check that the addon is built, without loading it.
 * @throws Error naming the missing file and `npm run build:whisper`.
 */
export function checkAddonBuilt(): void {
  const file = addonPath();
  if (!existsSync(file)) {
    throw new Error(`The whisper.cpp addon is not built (${file} is missing): run npm run build:whisper (needs g++, make, python3)`);
  }
}

/** Load the addon (once per thread). @throws Error when it is missing or does not load. */
export function loadAddon(): WhisperAddon {
  checkAddonBuilt();
  const require = createRequire(import.meta.url);
  return require(addonPath()) as WhisperAddon;
}
