/**
 * A two-party telephony call for tests, built from two real mono corpus recordings (the corpus has
 * no real stereo call with an exact transcript, see its README): agent = LJ Speech
 * (`read_en/ljspeech`) on channel 0, customer = LibriSpeech (`read_en/librispeech`) on channel 1,
 * alternating turns with 0.8 s pauses, the idle leg silent; resampled to 8 kHz and G.711 μ-law
 * encoded (`wavefile`), interleaved agent, customer.
 */
import { readFileSync } from "node:fs";
import { WaveFile } from "../../src/server/speech/audio/wavefile-interop";
import { exactReferenceEntries, type CorpusEntry } from "../../src/eval/corpus";
import { decodeAudioBody } from "../../src/server/speech/audio/decode";
import { downmix } from "../../src/server/speech/audio/pcm";
import { Quality, resample } from "../../src/server/speech/audio/resample";

/** One turn: seconds from the call's start, on `channel` (0 agent, 1 customer). */
export interface CallTurn {
  channel: 0 | 1;
  start: number;
  end: number;
  entry: CorpusEntry;
}

/** The built call. */
export interface TwoPartyCall {
  /** Hz. */
  sampleRate: 8000;
  /** Interleaved μ-law, agent then customer per frame (`2 × frames` bytes). */
  stereoMulaw: Uint8Array;
  /** Per channel, 16-bit PCM before μ-law encoding. */
  pcm: [Int16Array, Int16Array];
  turns: CallTurn[];
  /** Reference text per channel (the turns' references joined). */
  references: [string, string];
  /** Seconds. */
  duration: number;
}

const RATE = 8000;

async function mono8k(entry: CorpusEntry): Promise<Float32Array> {
  const { audio } = await decodeAudioBody(readFileSync(entry.path));
  return resample(downmix(audio.channels), audio.sampleRate, RATE, Quality.medium);
}

/**
 * Build the call.
 * @param clips which corpus files (substring of `file`) speak, in turn order, and on which channel
 */
export async function buildTwoPartyCall(
  clips: [0 | 1, string][] = [
    [0, "LJ001-0001"],
    [1, "1272-128104-0000"],
    [0, "LJ001-0004"],
    [1, "2412-153948-0000"],
  ],
  gapSec = 0.8,
): Promise<TwoPartyCall> {
  const read = exactReferenceEntries("read_en");
  const pick = (name: string) => {
    const e = read.find((x) => x.file.includes(name));
    if (!e) throw new Error(`corpus read_en has no file matching ${name}`);
    return e;
  };
  const script = clips.map(([ch, name]) => [ch, pick(name)] as const);
  const pieces = await Promise.all(script.map(([, e]) => mono8k(e)));
  const gap = Math.round(gapSec * RATE);
  const total = pieces.reduce((a, p) => a + p.length + gap, gap);
  const channels = [new Float32Array(total), new Float32Array(total)];
  const turns: CallTurn[] = [];
  const references: [string, string] = ["", ""];
  let at = gap;
  script.forEach(([ch, entry], i) => {
    channels[ch].set(pieces[i], at);
    turns.push({ channel: ch, start: at / RATE, end: (at + pieces[i].length) / RATE, entry });
    references[ch] = `${references[ch]} ${entry.referenceText}`.trim();
    at += pieces[i].length + gap;
  });
  const toI16 = (f: Float32Array) => Int16Array.from(f, (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32767))));
  const pcm: [Int16Array, Int16Array] = [toI16(channels[0]), toI16(channels[1])];
  const wav = new WaveFile();
  wav.fromScratch(2, RATE, "16", [pcm[0], pcm[1]]);
  wav.toMuLaw();
  const stereoMulaw = Uint8Array.from((wav as unknown as { data: { samples: Uint8Array } }).data.samples);
  return { sampleRate: RATE, stereoMulaw, pcm, turns, references, duration: total / RATE };
}

/**
 * The call in AudioHook's wire order: frames interleave the offered channels, `external`
 * (customer) first and `internal` (agent) second, so each byte pair of `agentFirst` swaps.
 */
export function customerFirst(agentFirst: Uint8Array): Uint8Array {
  const out = new Uint8Array(agentFirst.length);
  for (let i = 0; i + 1 < out.length; i += 2) {
    out[i] = agentFirst[i + 1];
    out[i + 1] = agentFirst[i];
  }
  return out;
}

/** Parse a server-sent-events body (WHATWG HTML §9.2) into `{id, event, data}` records; test-side, written from the spec. */
export function parseSse(text: string): { id?: string; event: string; data: string }[] {
  const out: { id?: string; event: string; data: string }[] = [];
  for (const block of text.replace(/\r\n?/g, "\n").split("\n\n")) {
    let id: string | undefined;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) out.push({ id, event, data: data.join("\n") });
  }
  return out;
}
