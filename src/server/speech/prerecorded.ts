/**
 * Pre-recorded transcription (`POST /v1/listen` with the audio as the body), Deepgram's response
 * shape: `{metadata, results: {channels: [{alternatives: [...]}], utterances?}}`.
 */
import { createHash, randomUUID } from "node:crypto";
import { openForEngine } from "./audio/engine-audio";
import type { SpeechEngine } from "./engines/engine";
import { transcribeChunked } from "./engines/recording";
import type { ModelInfo, PrerecordedResponse, Utterance } from "./protocol";
import type { ListenOptions } from "./query";
import { alternativeOf, hypothesesWords, roundSeconds, utteranceWords, type WordStyle } from "./results";

/** What the handler needs besides the body. */
export interface PrerecordedContext {
  engine: SpeechEngine;
  requestId: string;
  model: { uuid: string; info: ModelInfo };
  /** Longest accepted audio, seconds per channel (`CALLSCRIBE_MAX_AUDIO_SECONDS`; channel-seconds up to twice that, `audio/limits.ts`). */
  maxAudioSeconds: number;
}

/**
 * Decode, resample and transcribe one recording, a chunk at a time: with an engine that has
 * `openRecording` (PocketSphinx, Whisper, the Deepgram relay) memory does not grow with the duration (`engines/recording.ts`).
 * @param body WAV, FLAC, or raw audio per `options.encoding`/`sampleRate`/`channels`
 * @returns the Deepgram response; with `multichannel` one `results.channels` entry per input
 *   channel. Channels that carry the same audio (a mono recording stored as stereo) are
 *   transcribed once and the result repeated on each channel, as Deepgram would report them.
 * @throws AudioTooLongError when the audio is longer than `ctx.maxAudioSeconds` (the caller answers 413)
 * @throws AudioDecodeError when the body is not decodable audio or its sample rate is unsupported (the caller answers 400)
 * @throws Error when the engine fails
 */
export async function transcribeRecording(body: Uint8Array, options: ListenOptions, ctx: PrerecordedContext): Promise<PrerecordedResponse> {
  const created = new Date();
  const raw = options.encoding && options.sampleRate
    ? { encoding: options.encoding, sampleRate: options.sampleRate, channels: options.channels }
    : undefined;
  // Checked first (a probe: no resampling, one chunk in memory), so a refusal costs no engine
  // time and identical channels are known before any is transcribed; then decoded again chunk by
  // chunk into the engine, so memory does not grow with the duration.
  const audio = await openForEngine(body, {
    channels: options.multichannel ? "separate" : "downmix",
    maxSeconds: ctx.maxAudioSeconds,
    accept: "body",
    ...(raw ? { raw } : {}),
  });
  const recognize = { language: options.language, keyterms: options.keyterms, ...(options.detectLanguage ? { detectLanguage: true } : {}) };
  const transcribed = await transcribeChunked(ctx.engine, audio.decode, audio.identicalChannels ? 1 : audio.outputs, recognize);
  const perChannel = audio.identicalChannels ? Array.from({ length: audio.outputs }, () => transcribed[0]) : transcribed;

  const utterances: Utterance[] = [];
  const channels = perChannel.map((hypotheses, channel) => {
    const style: WordStyle = { punctuate: options.punctuate || options.smartFormat, speaker: options.diarize ? channel : undefined };
    if (options.utterances) {
      for (const h of hypotheses) {
        const words = utteranceWords(h.words, style, true);
        if (words.length === 0) continue;
        const alt = alternativeOf(words, style);
        utterances.push({
          id: randomUUID(),
          channel,
          start: words[0].start,
          end: words[words.length - 1].end,
          confidence: alt.confidence,
          transcript: alt.transcript,
          words,
          ...(style.speaker !== undefined ? { speaker: style.speaker } : {}),
        });
      }
    }
    const alternatives = [alternativeOf(hypothesesWords(hypotheses, style, true), style)];
    // Deepgram reports the detected language per channel (`detected_language`) when asked to detect it.
    const detected = options.detectLanguage ? hypotheses.find((h) => h.language)?.language : undefined;
    return detected ? { alternatives, detected_language: detected } : { alternatives };
  });
  utterances.sort((a, b) => a.start - b.start || a.channel - b.channel);

  return {
    metadata: {
      transaction_key: "deprecated",
      request_id: ctx.requestId,
      sha256: createHash("sha256").update(body).digest("hex"),
      created: created.toISOString(),
      duration: roundSeconds(audio.duration),
      channels: audio.sourceChannels,
      models: [ctx.model.uuid],
      model_info: { [ctx.model.uuid]: ctx.model.info },
      ...(Object.keys(options.extra ?? {}).length > 0 && { extra: options.extra }),
    },
    results: options.utterances ? { channels, utterances } : { channels },
  };
}
