/**
 * Decode stage: the recording checked ({@link openRecording}: format, sample rate, duration limit,
 * identical channels) without keeping its samples; the transcribe stage then decodes it chunk by
 * chunk straight into the engine. Decoding is done by the server's one audio module (`speech/audio/`, which
 * lists the containers and decoders) straight into the engine's mono 16 kHz PCM16, every
 * channel kept separate (stereo call recordings carry one party per channel), in bounded chunks.
 * Anything undecodable, longer than `CALLSCRIBE_MAX_AUDIO_SECONDS`, or at a sample rate outside
 * 8–48 kHz is a permanent {@link StageError} (stage `decode`): retrying cannot help.
 */
import { decodeForEngine, openForEngine, type ChunkedEngineAudio, type EngineAudio } from "../../speech/audio/engine-audio";
import { DEFAULT_MAX_AUDIO_SECONDS } from "../../speech/audio/limits";
import { AudioDecodeError } from "../../speech/audio/pcm";
import { StageError } from "./errors";

export { sniffContainer } from "../../speech/audio/container";

/** Options of {@link decodeRecording}. */
export interface DecodeRecordingOptions {
  /** Longest accepted recording, seconds per channel (channel-seconds up to twice that: `speech/audio/limits.ts`); default 14 400 (4 h). */
  maxAudioSeconds?: number;
}

/** A permanent decode StageError for a decoding failure. */
function decodeFailure(err: unknown): StageError {
  if (err instanceof AudioDecodeError) return new StageError(err.message, { retryable: false, stage: "decode", cause: err });
  return new StageError(`cannot decode the recording: ${(err as Error).message}`, { retryable: false, stage: "decode", cause: err });
}

/**
 * Check a recording (decoded once without keeping samples) and return it ready to be decoded again
 * chunk by chunk into the engine by the transcribe stage, so memory does not grow with its
 * duration. Every channel kept separate.
 * @param bytes the downloaded file (kept by the result for the chunked decode)
 * @returns the source's rate, channels, duration in seconds, `format`, `warnings`,
 *   `identicalChannels`, and `decode(onChunk)`; decoding errors from `decode` are permanent StageErrors too
 * @throws StageError (permanent, stage `decode`) for empty, unknown, unsupported, corrupt or too long audio
 */
export async function openRecording(bytes: Uint8Array, options: DecodeRecordingOptions = {}): Promise<ChunkedEngineAudio> {
  let audio: ChunkedEngineAudio;
  try {
    audio = await openForEngine(bytes, { channels: "separate", accept: "file", maxSeconds: options.maxAudioSeconds ?? DEFAULT_MAX_AUDIO_SECONDS });
  } catch (err) {
    throw decodeFailure(err);
  }
  return {
    ...audio,
    decode: (onChunk) =>
      audio.decode(onChunk).catch((err: unknown) => {
        throw err instanceof AudioDecodeError ? decodeFailure(err) : err;
      }),
  };
}

/**
 * Decode a whole recording for the engine (tests, and the whole-buffer contrast in memory tests; the pipeline and the CLI use {@link openRecording}).
 * @param bytes the downloaded file
 * @returns mono 16 kHz PCM16 per source channel (never downmixed), the source's rate, channels,
 *   duration in seconds, detected `format` (`wav/pcm`, `wav/mulaw`, `wav/alaw`, `wav/float`,
 *   `flac`, `mp3`, `ogg/opus`), `warnings` (e.g. a truncated WAV) and whether the channels carry
 *   the same audio (`identicalChannels`)
 * @throws StageError (permanent, stage `decode`) for empty, unknown, unsupported, corrupt or too long audio
 */
export async function decodeRecording(bytes: Uint8Array, options: DecodeRecordingOptions = {}): Promise<EngineAudio> {
  try {
    return await decodeForEngine(bytes, { channels: "separate", accept: "file", maxSeconds: options.maxAudioSeconds ?? DEFAULT_MAX_AUDIO_SECONDS });
  } catch (err) {
    throw decodeFailure(err);
  }
}
