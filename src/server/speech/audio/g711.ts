/**
 * G.711 μ-law and A-law expansion to signed 16-bit PCM (ITU-T G.711), for raw telephony audio
 * (`encoding=mulaw|alaw`), and μ-law compression (the demo PBX's PCMU, `telephony/demo-pbx/`).
 * The 256-entry tables are built once by decoding every code through `wavefile`'s G.711 codecs,
 * and the 65 536-entry compression table by encoding every PCM16 value through it, so the rules
 * come from that library; lookups keep per-chunk cost low on live streams.
 */
import { WaveFile } from "./wavefile-interop";

function buildTable(bitDepthCode: "8m" | "8a"): Int16Array {
  const wav = new WaveFile();
  const codes = new Uint8Array(256).map((_, i) => i);
  wav.fromScratch(1, 8000, bitDepthCode, codes);
  if (bitDepthCode === "8m") wav.fromMuLaw("16");
  else wav.fromALaw("16");
  return wav.getSamples(true, Int16Array) as unknown as Int16Array;
}

let mulawTable: Int16Array | undefined;
let alawTable: Int16Array | undefined;

/** Expand μ-law bytes (one byte per sample) to PCM16. */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  mulawTable ??= buildTable("8m");
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = mulawTable[bytes[i]];
  return out;
}

/** Expand A-law bytes (one byte per sample) to PCM16. */
export function decodeAlaw(bytes: Uint8Array): Int16Array {
  alawTable ??= buildTable("8a");
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = alawTable[bytes[i]];
  return out;
}

let mulawEncodeTable: Uint8Array | undefined;

/**
 * Compress PCM16 to μ-law bytes (one byte per sample; 0 → 0xFF, G.711's silence). Decoding the
 * result with {@link decodeMulaw} gives each sample back within G.711's quantisation step.
 */
export function encodeMulaw(pcm: Int16Array): Uint8Array {
  if (!mulawEncodeTable) {
    const all = new Int16Array(65_536).map((_, i) => i - 32_768);
    const wav = new WaveFile();
    wav.fromScratch(1, 8000, "16", all);
    wav.toMuLaw();
    mulawEncodeTable = Uint8Array.from(wav.getSamples(true, Uint8Array) as unknown as Uint8Array);
  }
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = mulawEncodeTable[pcm[i] + 32_768];
  return out;
}
