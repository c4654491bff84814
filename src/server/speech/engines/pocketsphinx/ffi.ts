/**
 * koffi bindings to Debian's PocketSphinx 5prealpha C API (`libpocketsphinx.so.3`, `libsphinxbase.so.3`,
 * package version 0.8+5prealpha+1). Signatures follow `pocketsphinx.h` / `cmd_ln.h` / `err.h` of that
 * release (note: 5prealpha's `ps_get_hyp(ps, &score)` and `ps_seg_iter(ps)` take no utterance id / score).
 *
 * Only call these from a worker thread: `ps_init` takes ~0.3 s, `ps_process_raw` up to ~175 ms per
 * 100 ms chunk and `ps_end_utt` up to ~1 s (DESIGN.md §5).
 */
import path from "node:path";
import koffi from "koffi";

/** An opaque C pointer as koffi returns it; `null` is C `NULL`. */
export type CPointer = unknown;

/** The subset of the PocketSphinx / SphinxBase API the decoder uses. */
export interface PocketSphinxLib {
  /** `cmd_ln_parse_r(NULL, ps_args(), argc, argv, strict=1)`: a config from `-name value` pairs, or null on a bad argument. */
  parseConfig(argv: string[]): CPointer | null;
  /** `cmd_ln_free_r`: drop our reference to a config (`ps_init` keeps its own). */
  freeConfig(config: CPointer): void;
  /** `ps_init`: a decoder, or null (bad model path or file). */
  init(config: CPointer): CPointer | null;
  /** `ps_free`. */
  free(ps: CPointer): void;
  /** `ps_start_utt`: 0 on success. */
  startUtt(ps: CPointer): number;
  /** `ps_end_utt`: 0 on success; runs the final search pass (and the lattice for `-bestpath yes`). */
  endUtt(ps: CPointer): number;
  /** `ps_process_raw(ps, data, n_samples, no_search=0, full_utt=0)`: frames searched, or < 0 on error. */
  processRaw(ps: CPointer, pcm: Int16Array, nSamples: number): number;
  /** `ps_get_hyp(ps, &score)`: the best hypothesis so far (fillers and `(2)` variants removed), or null. */
  getHyp(ps: CPointer): string | null;
  /** `ps_get_in_speech`: 1 while the front end's voice-activity detector is in speech. */
  getInSpeech(ps: CPointer): number;
  /** `ps_get_n_frames`: frames (10 ms) searched in the current utterance (silence removed by the VAD is not counted). */
  getNFrames(ps: CPointer): number;
  /** `ps_get_logmath`: the decoder's log-math table (owned by the decoder). */
  getLogmath(ps: CPointer): CPointer;
  /** `logmath_exp(lmath, logb_p)`: turns a log-base-b probability into a linear one. */
  logmathExp(lmath: CPointer, logProb: number): number;
  /** `ps_seg_iter`: iterator over the current hypothesis' segments, or null when empty. */
  segIter(ps: CPointer): CPointer | null;
  /** `ps_seg_next`: the next segment, or null (then the iterator has been freed by the library). */
  segNext(seg: CPointer): CPointer | null;
  /** `ps_seg_free`: free an iterator that was not run to its end. */
  segFree(seg: CPointer): void;
  /** `ps_seg_word`: the dictionary word, with its variant suffix, e.g. `was(2)`, or a filler such as `<sil>`. */
  segWord(seg: CPointer): string;
  /** `ps_seg_frames`: first and last frame (inclusive, 10 ms frames counted since the decoder was created). */
  segFrames(seg: CPointer): { startFrame: number; endFrame: number };
  /** `ps_seg_prob`: log posterior probability of the segment (0 = probability 1 when no lattice). */
  segProb(seg: CPointer): number;
  /**
   * glibc's `malloc_trim(0)`: give freed heap memory of every malloc arena back to the system. A freed
   * decoder's ~90 MB sit in its worker thread's arena, which glibc otherwise keeps (RSS stayed at
   * 4.9 GB after three 16-channel sessions). A no-op where libc has no `malloc_trim` (musl).
   */
  trimHeap(): void;
}

/** File names of the two shared libraries inside `libDir`. */
export const POCKETSPHINX_LIBRARIES = ["libsphinxbase.so.3", "libpocketsphinx.so.3"] as const;

/**
 * Load both libraries from `libDir` and bind the functions. Also silences SphinxBase's logging for the
 * whole process (`err_set_callback(NULL, NULL)`), see below.
 * @throws Error naming the library when `dlopen` or a symbol lookup fails.
 */
export function loadPocketSphinxLib(libDir: string): PocketSphinxLib {
  // koffi's named types are registered once per thread; a second registration would throw.
  const cached = loaded.get(libDir);
  if (cached) return cached;
  const lib = bind(libDir);
  loaded.set(libDir, lib);
  return lib;
}

const loaded = new Map<string, PocketSphinxLib>();
let typesDeclared = false;

function bind(libDir: string): PocketSphinxLib {
  const load = (file: string) => {
    const full = path.join(libDir, file);
    try {
      return koffi.load(full);
    } catch (err) {
      throw new Error(
        `Cannot load ${full}: ${(err as Error).message}. Install it with: apt-get install pocketsphinx pocketsphinx-en-us`,
      );
    }
  };
  const sb = load(POCKETSPHINX_LIBRARIES[0]);
  const ps = load(POCKETSPHINX_LIBRARIES[1]);

  if (!typesDeclared) {
    // Opaque handle types: koffi checks that a decoder pointer is never passed where a config is expected.
    for (const name of ["ps_decoder_t", "cmd_ln_t", "ps_seg_t", "logmath_t", "arg_t"]) koffi.opaque(name);
    typesDeclared = true;
  }

  const ps_args = ps.func("arg_t *ps_args(void)");
  const cmd_ln_parse_r = sb.func(
    "cmd_ln_t *cmd_ln_parse_r(cmd_ln_t *inout, arg_t *defn, int32_t argc, const char **argv, int32_t strict)",
  );
  const cmd_ln_free_r = sb.func("int cmd_ln_free_r(cmd_ln_t *config)");
  const err_set_callback = sb.func("void err_set_callback(void *cb, void *user_data)");
  const err_set_logfp = sb.func("void err_set_logfp(void *stream)");
  const ps_init = ps.func("ps_decoder_t *ps_init(cmd_ln_t *config)");
  const ps_free = ps.func("int ps_free(ps_decoder_t *ps)");
  const ps_start_utt = ps.func("int ps_start_utt(ps_decoder_t *ps)");
  const ps_end_utt = ps.func("int ps_end_utt(ps_decoder_t *ps)");
  const ps_process_raw = ps.func(
    "int ps_process_raw(ps_decoder_t *ps, const int16_t *data, size_t n_samples, int no_search, int full_utt)",
  );
  const ps_get_hyp = ps.func("const char *ps_get_hyp(ps_decoder_t *ps, _Out_ int32_t *out_best_score)");
  const ps_get_in_speech = ps.func("uint8_t ps_get_in_speech(ps_decoder_t *ps)");
  const ps_get_n_frames = ps.func("int ps_get_n_frames(ps_decoder_t *ps)");
  const ps_get_logmath = ps.func("logmath_t *ps_get_logmath(ps_decoder_t *ps)");
  const logmath_exp = sb.func("double logmath_exp(logmath_t *lmath, int logb_p)");
  const ps_seg_iter = ps.func("ps_seg_t *ps_seg_iter(ps_decoder_t *ps)");
  const ps_seg_next = ps.func("ps_seg_t *ps_seg_next(ps_seg_t *seg)");
  const ps_seg_free = ps.func("void ps_seg_free(ps_seg_t *seg)");
  const ps_seg_word = ps.func("const char *ps_seg_word(ps_seg_t *seg)");
  const ps_seg_frames = ps.func("void ps_seg_frames(ps_seg_t *seg, _Out_ int *out_sf, _Out_ int *out_ef)");
  const ps_seg_prob = ps.func(
    "int32_t ps_seg_prob(ps_seg_t *seg, _Out_ int32_t *out_ascr, _Out_ int32_t *out_lscr, _Out_ int32_t *out_lback)",
  );

  // Why not `-logfn /dev/null`: `ps_init` then calls `err_set_logfile`, which swaps a process-global FILE*
  // and fclose()s the old one while decoders in other worker threads may be writing to it (a
  // use-after-close race). A NULL callback makes `err_msg` return before formatting anything, in every
  // thread, and never touches a FILE*. `err_set_logfp(NULL)` also stops `cmd_ln_parse_r` from printing the
  // whole configuration to stderr (it writes to the log FILE* directly). Both only store a static, so
  // repeating them from several threads is harmless. The cost: the library's own error text is lost, so
  // callers check model files themselves (a bad path makes `ps_init` return NULL).
  err_set_callback(null, null);
  err_set_logfp(null);
  const malloc_trim = bindMallocTrim();

  const argsDef = ps_args();
  return {
    parseConfig: (argv) => cmd_ln_parse_r(null, argsDef, argv.length, argv, 1) ?? null,
    freeConfig: (config) => void cmd_ln_free_r(config),
    init: (config) => ps_init(config) ?? null,
    free: (p) => void ps_free(p),
    startUtt: (p) => ps_start_utt(p) as number,
    endUtt: (p) => ps_end_utt(p) as number,
    processRaw: (p, pcm, n) => ps_process_raw(p, pcm, n, 0, 0) as number,
    getHyp: (p) => (ps_get_hyp(p, [0]) as string | null) ?? null,
    getInSpeech: (p) => ps_get_in_speech(p) as number,
    getNFrames: (p) => ps_get_n_frames(p) as number,
    getLogmath: (p) => ps_get_logmath(p),
    logmathExp: (lm, prob) => logmath_exp(lm, prob) as number,
    segIter: (p) => ps_seg_iter(p) ?? null,
    segNext: (seg) => ps_seg_next(seg) ?? null,
    segFree: (seg) => void ps_seg_free(seg),
    segWord: (seg) => ps_seg_word(seg) as string,
    segFrames: (seg) => {
      const sf = [0];
      const ef = [0];
      ps_seg_frames(seg, sf, ef);
      return { startFrame: sf[0]!, endFrame: ef[0]! };
    },
    segProb: (seg) => ps_seg_prob(seg, [0], [0], [0]) as number,
    trimHeap: () => void malloc_trim?.(0),
  };
}

/** `malloc_trim` of glibc, or undefined when the C library has none (then memory is left to the allocator). */
function bindMallocTrim(): ((pad: number) => unknown) | undefined {
  try {
    return koffi.load("libc.so.6").func("int malloc_trim(size_t pad)") as (pad: number) => unknown;
  } catch {
    return undefined;
  }
}
