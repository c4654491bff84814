/**
 * The fake microphone for end-to-end tests: real read speech from the corpus (Debian
 * pocketsphinx-testdata, LibriVox, public domain), concatenated with short pauses and padded
 * with 1 s of silence at both ends, written as 16 kHz mono PCM16 WAV. Chromium plays it once
 * from the page's getUserMedia call (`%noloop`) and then repeats its last 10 ms, hence the
 * trailing silence (DESIGN §8).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { WaveFile } from "../../../src/server/speech/audio/wavefile-interop";
import { CORPUS_DIR, requireFile } from "./paths";

/** One corpus clip and its reference text (from the set's manifest.csv). */
export interface Clip {
  file: string;
  reference: string;
}

/** Clear read sentences PocketSphinx handles reasonably (debian_pocketsphinx/manifest.csv). */
export const MIC_CLIPS: readonly Clip[] = [
  { file: "debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0880.wav", reference: "he was not an ill disposed young man" },
  { file: "debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0890.wav", reference: "unless to be rather cold hearted and rather selfish is to be ill disposed" },
  { file: "debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0930.wav", reference: "he might even have been made amiable himself" },
];

const RATE = 16_000;

/**
 * Build the microphone WAV in a fresh temp dir.
 * @returns its path, its temp dir (remove it when done) and its length in seconds
 * @throws Error when a clip is missing or not 16 kHz mono PCM16
 */
export function buildMicWav(clips: readonly Clip[] = MIC_CLIPS, opts: { padSeconds?: number; gapSeconds?: number } = {}): { path: string; dir: string; seconds: number } {
  const pad = new Int16Array(Math.round((opts.padSeconds ?? 1) * RATE));
  const gap = new Int16Array(Math.round((opts.gapSeconds ?? 0.6) * RATE));
  const parts: Int16Array[] = [pad];
  clips.forEach((clip, i) => {
    const path = requireFile(resolve(CORPUS_DIR, clip.file), "the speech corpus lives in ../shared/corpus (or set CALLSCRIBE_CORPUS_DIR)");
    const wav = new WaveFile(readFileSync(path));
    const fmt = wav.fmt as { sampleRate: number; numChannels: number; bitsPerSample: number };
    if (fmt.sampleRate !== RATE || fmt.numChannels !== 1 || fmt.bitsPerSample !== 16) {
      throw new Error(`${clip.file}: expected 16 kHz mono PCM16, got ${fmt.sampleRate} Hz, ${fmt.numChannels} ch, ${fmt.bitsPerSample} bit`);
    }
    parts.push(Int16Array.from(wav.getSamples(false, Int16Array) as unknown as Int16Array));
    if (i < clips.length - 1) parts.push(gap);
  });
  parts.push(pad);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const samples = new Int16Array(total);
  let at = 0;
  for (const p of parts) {
    samples.set(p, at);
    at += p.length;
  }
  const out = new WaveFile();
  out.fromScratch(1, RATE, "16", samples);
  const dir = mkdtempSync(join(tmpdir(), "callscribe-mic-"));
  const path = join(dir, "mic.wav");
  writeFileSync(path, out.toBuffer());
  return { path, dir, seconds: total / RATE };
}
