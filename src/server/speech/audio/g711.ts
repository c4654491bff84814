/**
 * G.711 μ-law and A-law expansion to signed 16-bit PCM (ITU-T G.711), for raw telephony audio
 * (`encoding=mulaw|alaw`). The 256-entry tables are built once by decoding every code through
 * `wavefile`'s G.711 codecs, so the decoding rules come from that library; lookups keep per-chunk
 * cost low on live streams.
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
