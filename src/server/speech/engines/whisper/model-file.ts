/**
 * Read and check a whisper.cpp ggml model file before whisper.cpp loads it.
 *
 * Why: in the whisper.cpp bundled with smart-whisper 0.8.1, a model that fails to load (bad magic,
 * unknown ftype, a missing or misshapen tensor, a truncated download) makes the addon call
 * `whisper_print_timings(NULL)`, which crashes the whole process. So every file is walked here first,
 * exactly as `whisper_model_load` (whisper.cpp `src/whisper.cpp`) reads it:
 *
 *   u32 magic 0x67676d6c ("ggml")
 *   i32 × 11 hparams: n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
 *                     n_text_state, n_text_head, n_text_layer, n_mels, ftype (+ 1000 × quantization version)
 *   i32 n_mel, i32 n_fft, f32 × n_mel·n_fft          mel filters
 *   i32 n_vocab, then per token: u32 len, len bytes   vocabulary
 *   tensors until end of file: i32 n_dims, i32 name_len, i32 type, i32 × n_dims shape, name, data
 *
 * and each tensor is checked against the set whisper.cpp expects for these hparams (name, shape, byte
 * size). whisper.cpp accepts a file with no tensors at all ("assuming empty model for testing": the
 * `for-tests-` models) or with every tensor; nothing in between. Little-endian hosts only (as the
 * files). All reads are positioned reads of the headers: tensor data is skipped, not read.
 */
import { open, type FileHandle } from "node:fs/promises";

/** ggml file magic, "ggml" read as a little-endian u32. */
export const GGML_MAGIC = 0x67676d6c;

/** The hyper-parameters at the head of a whisper ggml file. */
export interface WhisperHparams {
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  nMels: number;
  /** Weight type code (`ggml_ftype`), quantization version removed. */
  ftype: number;
}

/** What `inspectGgmlModel` found. */
export interface GgmlModelInfo {
  hparams: WhisperHparams;
  /** Multilingual vocabulary (n_vocab ≥ 51865); English-only models have 51864. */
  multilingual: boolean;
  /** Whisper size by encoder depth: tiny, base, small, medium, large (or `unknown`). */
  size: string;
  /** Weight type name: f32, f16, q4_0, q5_1, q8_0, ... */
  weightType: string;
  /** Tensors in the file: 0 for whisper.cpp's test models, else all of them. */
  tensorCount: number;
  /** A test model: vocabulary and no weights (loads and computes, transcribes nothing). */
  testModel: boolean;
  bytes: number;
}

/** The file is not a model whisper.cpp would load. The message says why. */
export class InvalidModelFileError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file} is not a usable whisper.cpp model: ${reason}`);
    this.name = "InvalidModelFileError";
  }
}

/** ggml types: [name, block size (elements), block bytes]. Only the types whisper models use. */
const GGML_TYPES: Record<number, [string, number, number]> = {
  0: ["f32", 1, 4],
  1: ["f16", 1, 2],
  2: ["q4_0", 32, 18],
  3: ["q4_1", 32, 20],
  6: ["q5_0", 32, 22],
  7: ["q5_1", 32, 24],
  8: ["q8_0", 32, 34],
  10: ["q2_k", 256, 84],
  11: ["q3_k", 256, 110],
  12: ["q4_k", 256, 144],
  13: ["q5_k", 256, 176],
  14: ["q6_k", 256, 210],
  30: ["bf16", 1, 2],
};

/** `ggml_ftype` → weight type (`ggml_ftype_to_ggml_type`); other ftypes make whisper.cpp fail. */
const FTYPE_TO_TYPE: Record<number, number> = { 0: 0, 1: 1, 2: 2, 3: 3, 7: 8, 8: 6, 9: 7, 10: 10, 11: 11, 12: 12, 13: 13, 14: 14, 24: 30 };

const SIZE_BY_LAYERS: Record<number, string> = { 4: "tiny", 6: "base", 12: "small", 24: "medium", 32: "large" };

/** The largest plausible values, to refuse garbage before allocating for it. */
const MAX_DIM = 1 << 20;

type Expected = { shape: number[]; type: number };

/** The tensors `whisper_model_load` creates for these hparams: name → shape (ne0, ne1, ne2) and type. */
export function expectedTensors(h: WhisperHparams): Map<string, Expected> {
  const wtype = FTYPE_TO_TYPE[h.ftype]!;
  const vtype = wtype === 0 ? 0 : 1; // conv weights: f32 in f32 models, else f16
  const F32 = 0;
  const m = new Map<string, Expected>();
  const add = (name: string, shape: number[], type: number) => m.set(name, { shape, type });
  const a = h.nAudioState;
  const t = h.nTextState;
  add("encoder.positional_embedding", [a, h.nAudioCtx], F32);
  add("encoder.conv1.weight", [3, h.nMels, a], vtype);
  add("encoder.conv1.bias", [1, a], F32);
  add("encoder.conv2.weight", [3, a, a], vtype);
  add("encoder.conv2.bias", [1, a], F32);
  add("encoder.ln_post.weight", [a], F32);
  add("encoder.ln_post.bias", [a], F32);
  for (let i = 0; i < h.nAudioLayer; i++) {
    const p = `encoder.blocks.${i}.`;
    add(`${p}mlp_ln.weight`, [a], F32);
    add(`${p}mlp_ln.bias`, [a], F32);
    add(`${p}mlp.0.weight`, [a, 4 * a], wtype);
    add(`${p}mlp.0.bias`, [4 * a], F32);
    add(`${p}mlp.2.weight`, [4 * a, a], wtype);
    add(`${p}mlp.2.bias`, [a], F32);
    add(`${p}attn_ln.weight`, [a], F32);
    add(`${p}attn_ln.bias`, [a], F32);
    add(`${p}attn.query.weight`, [a, a], wtype);
    add(`${p}attn.query.bias`, [a], F32);
    add(`${p}attn.key.weight`, [a, a], wtype);
    add(`${p}attn.value.weight`, [a, a], wtype);
    add(`${p}attn.value.bias`, [a], F32);
    add(`${p}attn.out.weight`, [a, a], wtype);
    add(`${p}attn.out.bias`, [a], F32);
  }
  add("decoder.positional_embedding", [t, h.nTextCtx], F32);
  add("decoder.token_embedding.weight", [t, h.nVocab], wtype);
  add("decoder.ln.weight", [t], F32);
  add("decoder.ln.bias", [t], F32);
  for (let i = 0; i < h.nTextLayer; i++) {
    const p = `decoder.blocks.${i}.`;
    add(`${p}mlp_ln.weight`, [t], F32);
    add(`${p}mlp_ln.bias`, [t], F32);
    add(`${p}mlp.0.weight`, [t, 4 * t], wtype);
    add(`${p}mlp.0.bias`, [4 * t], F32);
    add(`${p}mlp.2.weight`, [4 * t, t], wtype);
    add(`${p}mlp.2.bias`, [t], F32);
    add(`${p}attn_ln.weight`, [t], F32);
    add(`${p}attn_ln.bias`, [t], F32);
    add(`${p}attn.query.weight`, [t, t], wtype);
    add(`${p}attn.query.bias`, [t], F32);
    add(`${p}attn.key.weight`, [t, t], wtype);
    add(`${p}attn.value.weight`, [t, t], wtype);
    add(`${p}attn.value.bias`, [t], F32);
    add(`${p}attn.out.weight`, [t, t], wtype);
    add(`${p}attn.out.bias`, [t], F32);
    add(`${p}cross_attn_ln.weight`, [t], F32);
    add(`${p}cross_attn_ln.bias`, [t], F32);
    add(`${p}cross_attn.query.weight`, [t, t], wtype);
    add(`${p}cross_attn.query.bias`, [t], F32);
    add(`${p}cross_attn.key.weight`, [t, t], wtype);
    add(`${p}cross_attn.value.weight`, [t, t], wtype);
    add(`${p}cross_attn.value.bias`, [t], F32);
    add(`${p}cross_attn.out.weight`, [t, t], wtype);
    add(`${p}cross_attn.out.bias`, [t], F32);
  }
  return m;
}

/** Little-endian reader over a file handle, reading ahead in 256 KiB windows (the vocabulary is ~50k tiny records). */
class Reader {
  pos = 0;
  private window = Buffer.alloc(0);
  private windowStart = 0;
  constructor(private readonly fh: FileHandle, readonly size: number, private readonly file: string) {}

  async bytes(n: number, what: string): Promise<Buffer> {
    if (n < 0 || this.pos + n > this.size) throw new InvalidModelFileError(this.file, `truncated (${what} runs past the end of the file at byte ${this.pos})`);
    const offset = this.pos - this.windowStart;
    if (offset < 0 || offset + n > this.window.length) {
      const length = Math.min(Math.max(n, 256 * 1024), this.size - this.pos);
      const buf = Buffer.alloc(length);
      const { bytesRead } = await this.fh.read(buf, 0, length, this.pos);
      if (bytesRead < n) throw new InvalidModelFileError(this.file, `short read at byte ${this.pos}`);
      this.window = buf.subarray(0, bytesRead);
      this.windowStart = this.pos;
    }
    const start = this.pos - this.windowStart;
    this.pos += n;
    return this.window.subarray(start, start + n);
  }

  async i32s(n: number, what: string): Promise<number[]> {
    const buf = await this.bytes(4 * n, what);
    return Array.from({ length: n }, (_, i) => buf.readInt32LE(4 * i));
  }

  skip(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.size) throw new InvalidModelFileError(this.file, `truncated (${what} runs past the end of the file)`);
    this.pos += n;
  }
}

/**
 * Walk a whisper ggml model file and check that whisper.cpp will load it.
 * @throws InvalidModelFileError (with the reason) for anything whisper.cpp would reject or crash on;
 *   the fs error (ENOENT, EACCES) when the file cannot be opened.
 */
export async function inspectGgmlModel(file: string): Promise<GgmlModelInfo> {
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    const r = new Reader(fh, size, file);
    const invalid = (reason: string) => new InvalidModelFileError(file, reason);

    const [magic] = await r.i32s(1, "magic");
    if (magic! >>> 0 !== GGML_MAGIC) throw invalid("bad magic (not a ggml file)");
    const hp = await r.i32s(11, "hparams");
    const h: WhisperHparams = {
      nVocab: hp[0]!,
      nAudioCtx: hp[1]!,
      nAudioState: hp[2]!,
      nAudioHead: hp[3]!,
      nAudioLayer: hp[4]!,
      nTextCtx: hp[5]!,
      nTextState: hp[6]!,
      nTextHead: hp[7]!,
      nTextLayer: hp[8]!,
      nMels: hp[9]!,
      ftype: hp[10]! % 1000,
    };
    if (hp.slice(0, 10).some((v) => v <= 0 || v > MAX_DIM)) throw invalid(`implausible hyper-parameters ${JSON.stringify(h)}`);
    if (h.nTextState !== h.nAudioState) throw invalid("n_text_state differs from n_audio_state");
    const wtype = FTYPE_TO_TYPE[h.ftype];
    if (wtype === undefined) throw invalid(`unsupported weight type (ftype ${h.ftype})`);
    // All-f32 files load, but the first decode aborts the process: this ggml's f16 im2col
    // (ggml_compute_forward_im2col_f16) asserts f16 convolution weights. Seen here with a synthetic model.
    if (wtype === 0) throw invalid("all-f32 models (ftype 0) crash this whisper.cpp build; convert with f16 weights");

    const [nMel, nFft] = await r.i32s(2, "mel filter header");
    if (nMel! <= 0 || nFft! <= 0 || nMel! * nFft! > MAX_DIM) throw invalid("implausible mel filter size");
    r.skip(4 * nMel! * nFft!, "mel filters");

    const [nVocabFile] = await r.i32s(1, "vocabulary size");
    if (nVocabFile! < 0 || nVocabFile! > h.nVocab) throw invalid(`vocabulary of ${nVocabFile} tokens for n_vocab ${h.nVocab}`);
    for (let i = 0; i < nVocabFile!; i++) {
      const len = (await r.bytes(4, "vocabulary")).readUInt32LE(0);
      if (len > 1024) throw invalid(`vocabulary token ${i} is ${len} bytes long`);
      r.skip(len, "vocabulary");
    }

    const expected = expectedTensors(h);
    const seen = new Set<string>();
    while (r.size - r.pos >= 12) {
      const [nDims, nameLen, ttype] = await r.i32s(3, "tensor header");
      if (nDims! < 1 || nDims! > 4 || nameLen! < 1 || nameLen! > 256) throw invalid(`bad tensor header at byte ${r.pos - 12}`);
      const shape = await r.i32s(nDims!, "tensor shape");
      const name = (await r.bytes(nameLen!, "tensor name")).toString("latin1");
      const want = expected.get(name);
      if (!want) throw invalid(`unknown tensor "${name}"`);
      if (seen.has(name)) throw invalid(`tensor "${name}" appears twice`);
      seen.add(name);
      const padded = [0, 1, 2].map((i) => shape[i] ?? 1);
      const wantPadded = [0, 1, 2].map((i) => want.shape[i] ?? 1);
      if (padded.some((v, i) => v !== wantPadded[i]) || shape.slice(3).some((v) => v !== 1)) {
        throw invalid(`tensor "${name}" has shape [${shape.join(", ")}], expected [${want.shape.join(", ")}]`);
      }
      const fileType = GGML_TYPES[ttype!];
      const wantType = GGML_TYPES[want.type]!;
      if (!fileType) throw invalid(`tensor "${name}" has unsupported type ${ttype}`);
      const elements = shape.reduce((a, v) => a * v, 1);
      const wantBytes = (elements / wantType[1]) * wantType[2];
      // whisper.cpp's own check: (elements × size of the file's type) / block size of the expected type.
      if ((elements * fileType[2]) / wantType[1] !== wantBytes || elements % wantType[1] !== 0) {
        throw invalid(`tensor "${name}" is ${fileType[0]}, expected ${wantType[0]}`);
      }
      r.skip(wantBytes, `data of tensor "${name}"`);
    }
    if (r.pos !== r.size) throw invalid(`${r.size - r.pos} stray bytes at the end (truncated download?)`);
    if (seen.size !== 0 && seen.size !== expected.size) {
      throw invalid(`${seen.size} of ${expected.size} tensors present (truncated download?)`);
    }
    return {
      hparams: h,
      multilingual: h.nVocab >= 51865,
      size: SIZE_BY_LAYERS[h.nAudioLayer] ?? "unknown",
      weightType: GGML_TYPES[wtype]![0],
      tensorCount: seen.size,
      testModel: seen.size === 0,
      bytes: size,
    };
  } finally {
    await fh.close();
  }
}
