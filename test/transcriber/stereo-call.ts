/**
 * A two-party stereo call for the transcriber's tests, built from two real mono corpus
 * recordings (the corpus has no real two-speaker stereo call with an exact transcript; its README
 * says to build one): channel 0 = LJ Speech (one female reader), channel 1 = LibriSpeech (a male
 * reader), alternating turns 0, 1, 0 with 0.8 s pauses; while one speaks the other channel is
 * digital silence, as a PBX records the idle leg. 16 kHz PCM16, interleaved `c0 c1 c0 c1 …`.
 */
import { readFileSync } from "node:fs";
import { exactReferenceEntries, type CorpusEntry } from "../../src/eval/corpus";
import { decodeAudioBody } from "../../src/server/speech/audio/decode";
import { downmix } from "../../src/server/speech/audio/pcm";
import { Quality, resample } from "../../src/server/speech/audio/resample";
import { interleave } from "../../src/transcriber/audio/multichannel";

const RATE = 16_000;
const GAP_S = 0.8;

/** One speaker's turn, seconds from the start of the call. */
export interface Turn {
  channel: 0 | 1;
  start: number;
  end: number;
}

/** The call. */
export interface StereoCall {
  /** Interleaved 16 kHz PCM16, 2 channels. */
  pcm: Int16Array;
  turns: Turn[];
  /** Reference text per channel (its speaker's turns joined). */
  refs: [string, string];
  /** Seconds. */
  duration: number;
}

async function mono16k(entry: CorpusEntry): Promise<Int16Array> {
  const { audio } = await decodeAudioBody(readFileSync(entry.path));
  const f = await resample(downmix(audio.channels), audio.sampleRate, RATE, Quality.medium);
  return Int16Array.from(f, (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32767))));
}

/** Build the call (a few seconds of CPU for the resampling). */
export async function buildStereoCall(): Promise<StereoCall> {
  const read = exactReferenceEntries("read_en");
  const pick = (name: string) => read.find((e) => e.file.includes(name))!;
  const script: [0 | 1, CorpusEntry][] = [
    [0, pick("LJ001-0004")],
    [1, pick("1272-128104-0000")],
    [0, pick("LJ001-0002")],
  ];
  const pieces = await Promise.all(script.map(([, e]) => mono16k(e)));
  const gap = Math.round(GAP_S * RATE);
  const total = pieces.reduce((a, p) => a + p.length + gap, gap);
  const channels = [new Int16Array(total), new Int16Array(total)];
  const turns: Turn[] = [];
  const refs: [string, string] = ["", ""];
  let at = gap;
  script.forEach(([ch, entry], i) => {
    channels[ch]!.set(pieces[i]!, at);
    turns.push({ channel: ch, start: at / RATE, end: (at + pieces[i]!.length) / RATE });
    refs[ch] = `${refs[ch]} ${entry.referenceText}`.trim();
    at += pieces[i]!.length + gap;
  });
  return { pcm: interleave(channels), turns, refs, duration: total / RATE };
}

/** Whether a segment or word [start, end] lies within a turn of `channel` (± `edge` s). */
export function insideTurn(call: StereoCall, channel: number, start: number, end: number, edge = 0.35): boolean {
  const mid = (start + end) / 2;
  return call.turns.some((t) => t.channel === channel && mid >= t.start - edge && mid <= t.end + edge);
}
