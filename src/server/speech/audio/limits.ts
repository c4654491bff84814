/**
 * Limits on the audio the server decodes (see `engine-audio.ts`), in a module of their own so
 * the config readers can name the defaults without loading the decoders.
 */

/** Sample rates accepted from any container or raw body, Hz (the live WebSocket uses the same range). */
export const SUPPORTED_SAMPLE_RATES = { min: 8000, max: 48000 } as const;

/** Default longest recording, seconds (4 h); `CALLSCRIBE_MAX_AUDIO_SECONDS`. */
export const DEFAULT_MAX_AUDIO_SECONDS = 14_400;
