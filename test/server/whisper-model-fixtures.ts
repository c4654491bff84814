/**
 * Synthetic whisper.cpp ggml model files for tests: the real layout (`model-file.ts` describes it)
 * with tiny hyper-parameters, and either no tensors (like whisper.cpp's `for-tests-` models) or every
 * tensor whisper.cpp expects, filled with small pseudo-random weights. Made here, not downloaded.
 */
import { writeFileSync } from "node:fs";
import { expectedTensors, GGML_MAGIC, type WhisperHparams } from "../../src/server/speech/engines/whisper/model-file.js";

/** Tiny hyper-parameters: one layer each side, 8-wide states, English-only vocabulary size. */
export const TINY_HPARAMS: WhisperHparams = {
  nVocab: 51864,
  nAudioCtx: 1500,
  nAudioState: 8,
  nAudioHead: 2,
  nAudioLayer: 1,
  nTextCtx: 448,
  nTextState: 8,
  nTextHead: 2,
  nTextLayer: 1,
  nMels: 80,
  ftype: 1,
};

export interface SyntheticModelOptions {
  hparams?: Partial<WhisperHparams>;
  /** `none`: vocabulary only (a test model); `all`: every tensor. Default `all`. */
  tensors?: "none" | "all";
  /** Change the tensor list before writing (drop, rename, reshape). */
  editTensors?: (list: { name: string; shape: number[] }[]) => { name: string; shape: number[] }[];
}

function i32(values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
  return b;
}

/** IEEE half-precision bits of a small float (|x| < 2, no NaN or infinity needed here). */
function toHalf(x: number): number {
  if (x === 0) return 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const exp = Math.floor(Math.log2(a));
  if (exp < -14) return sign | Math.round(a / 2 ** -24); // subnormal
  const mantissa = Math.round((a / 2 ** exp - 1) * 1024);
  return sign | ((exp + 15) << 10) | (mantissa & 0x3ff);
}

/** Build the bytes of a synthetic model: each tensor in the type whisper.cpp expects for the ftype (f16 weights by default). */
export function syntheticModel(options: SyntheticModelOptions = {}): Buffer {
  const h = { ...TINY_HPARAMS, ...options.hparams };
  const parts: Buffer[] = [];
  parts.push(i32([GGML_MAGIC | 0]));
  parts.push(i32([h.nVocab, h.nAudioCtx, h.nAudioState, h.nAudioHead, h.nAudioLayer, h.nTextCtx, h.nTextState, h.nTextHead, h.nTextLayer, h.nMels, h.ftype]));
  // Mel filters: n_mel × n_fft floats (whisper uses n_fft = 201), a plain triangular-ish bank.
  const nFft = 201;
  parts.push(i32([h.nMels, nFft]));
  const filters = Buffer.alloc(4 * h.nMels * nFft);
  for (let m = 0; m < h.nMels; m++) filters.writeFloatLE(1, 4 * (m * nFft + Math.min(nFft - 1, 2 * m + 1)));
  parts.push(filters);
  // Vocabulary up to end-of-text (50256 English-only, 50257 multilingual): 256 byte tokens, then
  // " w<id>" words, so that whatever the random weights pick reads as words.
  const textTokens = h.nVocab >= 51865 ? 50257 : 50256;
  parts.push(i32([textTokens]));
  for (let t = 0; t < textTokens; t++) {
    const text = t < 256 ? Buffer.from([t]) : Buffer.from(` w${t}`, "latin1");
    parts.push(i32([text.length]), text);
  }
  if ((options.tensors ?? "all") === "all") {
    const expected = expectedTensors(h);
    let list = [...expected].map(([name, e]) => ({ name, shape: e.shape }));
    if (options.editTensors) list = options.editTensors(list);
    let seed = 1;
    for (const { name, shape } of list) {
      const type = expected.get(name)?.type === 1 ? 1 : 0; // only f32 and f16 here
      const nameBytes = Buffer.from(name, "latin1");
      parts.push(i32([shape.length, nameBytes.length, type]), i32(shape), nameBytes);
      const n = shape.reduce((a, v) => a * v, 1);
      const data = Buffer.alloc((type === 1 ? 2 : 4) * n);
      for (let i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const x = ((seed / 0x7fffffff) * 2 - 1) * 0.02;
        if (type === 1) data.writeUInt16LE(toHalf(x), 2 * i);
        else data.writeFloatLE(x, 4 * i);
      }
      parts.push(data);
    }
  }
  return Buffer.concat(parts);
}

/** Write a synthetic model file; returns its path. */
export function writeSyntheticModel(file: string, options: SyntheticModelOptions = {}): string {
  writeFileSync(file, syntheticModel(options));
  return file;
}
