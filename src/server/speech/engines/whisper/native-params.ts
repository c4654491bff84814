/** The whisper.cpp parameters (`whisper_full_params`, as smart-whisper reads them) of one decode. Pure. */
import type { NativeTranscribeParams } from "./addon.js";
import type { DecodeParams } from "./protocol.js";

/** whisper.cpp parameters for one decode. Greedy decodes (partials) skip the temperature fallback: speed first. */
export function nativeParams(p: DecodeParams): Partial<NativeTranscribeParams> {
  const beam = p.beamSize > 1;
  const params: Partial<NativeTranscribeParams> = {
    strategy: beam ? 1 : 0,
    beam_size: p.beamSize,
    best_of: 5,
    n_threads: p.threads,
    language: p.language,
    audio_ctx: p.audioCtx,
    token_timestamps: true,
    no_context: true,
    single_segment: false,
    suppress_blank: true,
    suppress_non_speech_tokens: true,
    temperature: 0,
    temperature_inc: beam ? 0.2 : 0,
    entropy_thold: 2.4,
    logprob_thold: -1,
    no_speech_thold: 0.6, // ignored by this whisper.cpp version; see guards.ts
    max_tokens: 0,
    print_progress: false,
    print_realtime: false,
    print_timestamps: false,
    print_special: false,
    format: "detail",
  };
  if (p.prompt) params.initial_prompt = p.prompt;
  return params;
}

