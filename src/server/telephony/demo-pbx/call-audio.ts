/**
 * The demo PBX's call audio: a two-party phone call made of real mono recordings from the speech
 * corpus (`CALLSCRIBE_CORPUS_DIR`, default `../shared/corpus`; read_en set), one speaker per
 * party, alternating turns (agent, customer, agent, customer) with pauses, as the corpus README
 * says to build a stereo call when no real one with exact references exists. Each clip is decoded
 * with the server's audio module, resampled to 8 kHz, compressed to μ-law (PCMU) and placed on
 * its party's channel while the other channel holds G.711 silence; the two channels are
 * interleaved in AudioHook's order `external` (customer), `internal` (agent).
 */
import { readFileSync, statSync } from "node:fs";
import { decodeAudioFile } from "../../speech/audio/decode";
import { encodeMulaw } from "../../speech/audio/g711";
import { downmix, float32ToInt16 } from "../../speech/audio/pcm";
import { Quality, resample } from "../../speech/audio/resample";
import { loadManifest, type CorpusEntry } from "../../../eval/corpus";

/** Telephony sample rate, Hz. */
export const PBX_SAMPLE_RATE = 8000;
/** AudioHook channel names in the order the demo PBX offers and interleaves them. */
export const PBX_CHANNELS = ["external", "internal"] as const;

/** Who speaks a turn: `agent` goes on `internal`, `customer` on `external`. */
export type Party = "agent" | "customer";

/** One turn of the demo call: a corpus clip (set and file as in the set's manifest). */
export interface DemoTurn {
  party: Party;
  set: string;
  file: string;
}

/**
 * The default call: an LJ Speech reader (one woman, public domain) as the agent and two
 * LibriSpeech readers (CC-BY-4.0) as the customer, about 33 s of speech. Each party opens with a
 * long turn: at 8 kHz PocketSphinx loses most of a channel's first few seconds (its cepstral mean
 * starts from 16 kHz wideband values and adapts as it hears the channel), so a short first turn
 * came out as one word ("One.") and a long one recovers within it.
 */
export const DEFAULT_DEMO_TURNS: readonly DemoTurn[] = [
  { party: "agent", set: "read_en", file: "ljspeech/LJ001-0014.wav" },
  { party: "customer", set: "read_en", file: "librispeech/2412-153948-0000.flac" },
  { party: "agent", set: "read_en", file: "ljspeech/LJ001-0016.wav" },
  { party: "customer", set: "read_en", file: "librispeech/1272-128104-0000.wav" },
];

/** A turn as placed in the call: seconds from the start of the stream. */
export interface PlacedTurn extends DemoTurn {
  startS: number;
  endS: number;
  /** The clip's reference transcript (manifest `reference_text`). */
  reference: string;
}

/** The whole call, ready to stream. */
export interface DemoCallAudio {
  /** PCMU at 8000 Hz, 2 channels interleaved in {@link PBX_CHANNELS} order: byte 2i external, 2i+1 internal. */
  bytes: Uint8Array;
  sampleRate: typeof PBX_SAMPLE_RATE;
  channels: typeof PBX_CHANNELS;
  /** Seconds. */
  durationS: number;
  turns: PlacedTurn[];
}

/** The corpus (or one of its clips) is not there or not usable: `message` says what, for the user. */
export class DemoAudioUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoAudioUnavailableError";
  }
}

/** Options of {@link buildDemoCallAudio}. */
export interface DemoCallAudioOptions {
  /** The corpus root (the folder holding `read_en/manifest.csv`). */
  corpusRoot: string;
  turns?: readonly DemoTurn[];
  /** Silence before the first turn, seconds (default 0.5). */
  leadSeconds?: number;
  /** Silence between turns, seconds (default 0.8). */
  gapSeconds?: number;
  /** Silence after the last turn, seconds (default 1.5: the engines' endpointing sees the end of speech). */
  tailSeconds?: number;
}

/** Largest clip file read, bytes (the corpus's clips are well under 1 MB). */
const MAX_CLIP_BYTES = 20 * 1024 * 1024;
/** Longest clip used, seconds. */
const MAX_CLIP_SECONDS = 60;
/** Most turns in a call. */
const MAX_TURNS = 20;

/** One clip decoded to 8 kHz μ-law, mono. */
async function clipToPcmu(entry: CorpusEntry): Promise<Uint8Array> {
  let size: number;
  try {
    size = statSync(entry.path).size;
  } catch {
    throw new DemoAudioUnavailableError(`the corpus clip ${entry.set}/${entry.file} is missing (${entry.path})`);
  }
  if (size > MAX_CLIP_BYTES) throw new DemoAudioUnavailableError(`the corpus clip ${entry.set}/${entry.file} is larger than ${MAX_CLIP_BYTES} bytes`);
  let audio;
  try {
    audio = await decodeAudioFile(readFileSync(entry.path));
  } catch (err) {
    throw new DemoAudioUnavailableError(`the corpus clip ${entry.set}/${entry.file} cannot be decoded: ${(err as Error).message}`);
  }
  if (audio.duration > MAX_CLIP_SECONDS) throw new DemoAudioUnavailableError(`the corpus clip ${entry.set}/${entry.file} is longer than ${MAX_CLIP_SECONDS} s`);
  const mono = await resample(downmix(audio.channels), audio.sampleRate, PBX_SAMPLE_RATE, Quality.medium);
  return encodeMulaw(float32ToInt16(mono));
}

/** μ-law code of a zero sample (G.711 silence). */
export const PCMU_SILENCE = encodeMulaw(new Int16Array(1))[0]!;

/**
 * Build the demo call.
 * @throws DemoAudioUnavailableError when the corpus, a manifest row or a clip is missing or unusable
 */
export async function buildDemoCallAudio(options: DemoCallAudioOptions): Promise<DemoCallAudio> {
  const turns = options.turns ?? DEFAULT_DEMO_TURNS;
  if (turns.length === 0 || turns.length > MAX_TURNS) throw new DemoAudioUnavailableError(`a demo call needs 1 to ${MAX_TURNS} turns`);
  const manifests = new Map<string, CorpusEntry[]>();
  const entries = turns.map((turn) => {
    let rows = manifests.get(turn.set);
    if (!rows) {
      try {
        rows = loadManifest(turn.set, options.corpusRoot);
      } catch (err) {
        throw new DemoAudioUnavailableError(`no speech corpus at ${options.corpusRoot} (${(err as Error).message}); set CALLSCRIBE_CORPUS_DIR`);
      }
      manifests.set(turn.set, rows);
    }
    const entry = rows.find((r) => r.file === turn.file);
    if (!entry) throw new DemoAudioUnavailableError(`the corpus set ${turn.set} has no clip ${turn.file}`);
    return entry;
  });
  const clips = await Promise.all(entries.map(clipToPcmu));

  const frames = (s: number) => Math.round(s * PBX_SAMPLE_RATE);
  const lead = frames(options.leadSeconds ?? 0.5);
  const gap = frames(options.gapSeconds ?? 0.8);
  const tail = frames(options.tailSeconds ?? 1.5);
  const total = lead + clips.reduce((n, c) => n + c.length, 0) + gap * (clips.length - 1) + tail;
  const bytes = new Uint8Array(total * 2).fill(PCMU_SILENCE);
  const placed: PlacedTurn[] = [];
  let at = lead;
  turns.forEach((turn, i) => {
    const clip = clips[i]!;
    // external (customer) is byte 0 of each frame, internal (agent) byte 1.
    const offset = turn.party === "customer" ? 0 : 1;
    for (let k = 0; k < clip.length; k++) bytes[(at + k) * 2 + offset] = clip[k]!;
    placed.push({ ...turn, startS: at / PBX_SAMPLE_RATE, endS: (at + clip.length) / PBX_SAMPLE_RATE, reference: entries[i]!.referenceText });
    at += clip.length + gap;
  });
  return { bytes, sampleRate: PBX_SAMPLE_RATE, channels: PBX_CHANNELS, durationS: total / PBX_SAMPLE_RATE, turns: placed };
}

/**
 * The call's frames in another channel order (the server may select `["internal","external"]`,
 * or one channel). @throws RangeError when a selected channel is not one of ours
 */
export function reorderChannels(audio: DemoCallAudio, selected: readonly string[]): Uint8Array {
  const index = selected.map((name) => {
    const i = (PBX_CHANNELS as readonly string[]).indexOf(name);
    if (i < 0) throw new RangeError(`channel ${name} is not one the demo PBX has (${PBX_CHANNELS.join(", ")})`);
    return i;
  });
  if (index.length === 2 && index[0] === 0 && index[1] === 1) return audio.bytes;
  const n = audio.bytes.length / 2;
  const out = new Uint8Array(n * index.length);
  for (let f = 0; f < n; f++) for (let c = 0; c < index.length; c++) out[f * index.length + c] = audio.bytes[f * 2 + index[c]!]!;
  return out;
}
