/**
 * Decode stage: the recording decoded by the server's one audio module (`speech/audio/`, which
 * lists the containers and decoders), every channel kept separate (stereo call recordings carry
 * one party per channel). Anything undecodable is a permanent {@link StageError} (stage `decode`):
 * retrying corrupt audio cannot help.
 */
import { decodeAudioFile } from "../../speech/audio/decode";
import { AudioDecodeError, type DecodedAudio } from "../../speech/audio/pcm";
import { StageError } from "./errors";

export { sniffContainer } from "../../speech/audio/container";

/**
 * Decode a whole recording.
 * @param bytes the downloaded file
 * @returns planar floats in [-1, 1], one array per channel (never downmixed), the sample rate in
 *   Hz, the duration in seconds and the detected `format` (`wav/pcm`, `wav/mulaw`, `wav/alaw`,
 *   `wav/float`, `flac`, `mp3`, `ogg/opus`)
 * @throws StageError (permanent, stage `decode`) for empty, unknown, unsupported or corrupt audio
 */
export async function decodeRecording(bytes: Uint8Array): Promise<DecodedAudio> {
  try {
    return await decodeAudioFile(bytes);
  } catch (err) {
    if (err instanceof AudioDecodeError) throw new StageError(err.message, { retryable: false, stage: "decode", cause: err });
    throw new StageError(`cannot decode the recording: ${(err as Error).message}`, { retryable: false, stage: "decode", cause: err });
  }
}
