/**
 * Batch transcription of recordings on disk (issue 4 §5): each file goes through the pipeline's
 * own stage functions in-process — decode → transcribe → analyze (no download, no delivery) —
 * and its result is written as `<name>.json`: `{file, format, transcript, analysis}`, where
 * `transcript` is the `fdc3.transcript` with the analysis fields (summary, topics, sentiment, key
 * phrases, action items) filled in, exactly as `GET /v1/calls/:id` shows it. A file that fails
 * (corrupt, unsupported) is reported and skipped; the batch goes on. A file the decoder could only
 * partly read (a WAV cut short) is transcribed as far as it goes and reported with its warnings,
 * which its JSON also carries (`warnings`).
 *
 * Memory: a file is checked once (`openRecording`: no samples kept) and then decoded chunk by chunk
 * straight into the engine (`transcribeChunked`), as the pipeline does, so what one file costs is
 * its encoded bytes plus a window of audio per channel, not a decoded copy of its whole duration.
 * The duration cap is the server's (`CALLSCRIBE_MAX_AUDIO_SECONDS` semantics, `maxAudioSeconds`).
 */
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Transcript } from "../contracts";
import type { SpeechEngine } from "../server/speech/engines/engine";
import { analyzeTranscript } from "../server/pipeline/stages/analyze";
import { openRecording } from "../server/pipeline/stages/decode";
import { transcribeRecording } from "../server/pipeline/stages/transcribe";
import type { Analysis, RecordingReady } from "../server/store/model";
import { transcriptWithAnalysis } from "../server/store/calls";

/** File name extensions taken from a folder (lower case). */
export const AUDIO_EXTENSIONS = new Set([".wav", ".mp3", ".flac", ".ogg", ".opus", ".oga"]);

/** One input file and where its JSON goes. */
export interface BatchItem {
  input: string;
  output: string;
}

/** Outcome of one file. `seconds`: wall time of its stages; `warnings`: what the decoder noticed (e.g. `truncated: …`), empty when none. */
export type BatchResult =
  | { input: string; output: string; ok: true; audioSec: number; seconds: number; format: string; warnings: string[] }
  | { input: string; ok: false; error: string; seconds: number };

/** Options of {@link runBatch}. */
export interface BatchOptions {
  items: BatchItem[];
  engine: SpeechEngine;
  /** Files worked on at once (≥ 1). */
  concurrency: number;
  /** Topic taxonomy and optional LLM endpoint (the `analysis` section of `loadConfig`). */
  analysis: { topics: string[]; llm?: { baseUrl: string; apiKey?: string; model: string } };
  /** Called after each file. */
  onResult?: (result: BatchResult) => void;
  /** Longest recording per channel, seconds, as `CALLSCRIBE_MAX_AUDIO_SECONDS` (`speech/audio/limits.ts`). Default 14 400 (4 h). */
  maxAudioSeconds?: number;
}

/**
 * Expand files and folders (folders recursively, audio extensions only, sorted) into items with
 * output paths under `outDir`: a folder's files keep their relative path; names that would collide
 * get `-2`, `-3`… appended.
 * @throws Error naming the path when an argument does not exist or a folder holds no audio
 */
export async function collectItems(paths: string[], outDir: string): Promise<BatchItem[]> {
  const items: BatchItem[] = [];
  const taken = new Set<string>();
  const add = (input: string, relName: string) => {
    const stem = relName.slice(0, relName.length - extname(relName).length);
    let output = resolve(outDir, `${stem}.json`);
    for (let n = 2; taken.has(output); n++) output = resolve(outDir, `${stem}-${n}.json`);
    taken.add(output);
    items.push({ input, output });
  };
  for (const p of paths) {
    const abs = resolve(p);
    let info;
    try {
      info = await stat(abs);
    } catch {
      throw new Error(`no such file or folder: ${p}`);
    }
    if (info.isDirectory()) {
      const files = (await readdir(abs, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile() && AUDIO_EXTENSIONS.has(extname(e.name).toLowerCase()))
        .map((e) => join(e.parentPath, e.name))
        .sort();
      if (files.length === 0) throw new Error(`no audio files (${[...AUDIO_EXTENSIONS].join(" ")}) in ${p}`);
      for (const f of files) add(f, relative(abs, f));
    } else {
      add(abs, basename(abs));
    }
  }
  return items;
}

/** A call id for a file (the transcript's `id.callId`): its name with unsafe characters replaced. */
export function callIdForFile(path: string): string {
  const id = basename(path)
    .replace(/[^A-Za-z0-9._:-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128);
  return id || "recording";
}

/** What `<name>.json` holds. */
export interface BatchOutput {
  file: string;
  format: string;
  /** Decoder warnings, present only when there are some (e.g. `truncated: …`). */
  warnings?: string[];
  transcript: Transcript;
  analysis: Analysis;
}

/**
 * Transcribe one file through the stages and write its JSON: checked, then decoded chunk by chunk into the engine.
 * @throws the stage's error (StageError for corrupt or unsupported audio)
 */
export async function transcribeFile(
  item: BatchItem,
  engine: SpeechEngine,
  analysisOptions: BatchOptions["analysis"],
  maxAudioSeconds?: number,
): Promise<{ audioSec: number; format: string; warnings: string[] }> {
  const bytes = await readFile(item.input);
  const audio = await openRecording(bytes, maxAudioSeconds === undefined ? {} : { maxAudioSeconds });
  const meta: RecordingReady = { call_id: callIdForFile(item.input), recording_url: pathToFileURL(item.input).href };
  const transcript = await transcribeRecording(engine, audio, meta);
  const analysis = await analyzeTranscript(transcript, { taxonomy: analysisOptions.topics, ...(analysisOptions.llm && { llm: analysisOptions.llm }) });
  const out: BatchOutput = {
    file: item.input,
    format: audio.format,
    ...(audio.warnings.length > 0 ? { warnings: audio.warnings } : {}),
    transcript: transcriptWithAnalysis(transcript, analysis),
    analysis,
  };
  await mkdir(dirname(item.output), { recursive: true });
  await writeFile(item.output, JSON.stringify(out, null, 2) + "\n");
  return { audioSec: audio.duration, format: audio.format, warnings: audio.warnings };
}

/** Run the batch, `concurrency` files at a time; never throws for a bad file. @returns one result per item, in item order */
export async function runBatch(options: BatchOptions): Promise<BatchResult[]> {
  const { items, engine, onResult } = options;
  const results: BatchResult[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i];
      const started = performance.now();
      let result: BatchResult;
      try {
        const { audioSec, format, warnings } = await transcribeFile(item, engine, options.analysis, options.maxAudioSeconds);
        result = { input: item.input, output: item.output, ok: true, audioSec, format, warnings, seconds: (performance.now() - started) / 1000 };
      } catch (err) {
        result = { input: item.input, ok: false, error: err instanceof Error ? err.message : String(err), seconds: (performance.now() - started) / 1000 };
      }
      results[i] = result;
      onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, items.length)) }, worker));
  return results;
}
