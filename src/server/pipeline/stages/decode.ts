/**
 * Decode stage: the recording decoded by the server's one audio module (`speech/audio/`, which
 * lists the containers and decoders) straight into the engine's mono 16 kHz PCM16, every
 * channel kept separate (stereo call recordings carry one party per channel), in bounded chunks.
 * Anything undecodable, longer than `CALLSCRIBE_MAX_AUDIO_SECONDS`, or at a sample rate outside
 * 8–48 kHz is a permanent {@link StageError} (stage `decode`): retrying cannot help.
 */
import { decodeForEngine, type EngineAudio } from "../../speech/audio/engine-audio";
import { DEFAULT_MAX_AUDIO_SECONDS } from "../../speech/audio/limits";
import { AudioDecodeError } from "../../speech/audio/pcm";
import { StageError } from "./errors";

export { sniffContainer } from "../../speech/audio/container";

/** Options of {@link decodeRecording}. */
export interface DecodeRecordingOptions {
  /** Longest accepted recording, seconds; default 14 400 (4 h). */
  maxAudioSeconds?: number;
}

/**
 * Decode a whole recording for the engine.
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
    if (err instanceof AudioDecodeError) throw new StageError(err.message, { retryable: false, stage: "decode", cause: err });
    throw new StageError(`cannot decode the recording: ${(err as Error).message}`, { retryable: false, stage: "decode", cause: err });
  }
}
