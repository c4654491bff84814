/**
 * Limits on the audio the server decodes (see `engine-audio.ts`), in a module of their own so
 * the config readers can name the defaults without loading the decoders.
 */

/** Sample rates accepted from any container or raw body, Hz (the live WebSocket uses the same range). */
export const SUPPORTED_SAMPLE_RATES = { min: 8000, max: 48000 } as const;

/**
 * Default longest recording, seconds of audio per channel (4 h); `CALLSCRIBE_MAX_AUDIO_SECONDS`.
 * See {@link CHANNEL_SECONDS_PER_CAP} for what a recording's channels may hold together.
 */
export const DEFAULT_MAX_AUDIO_SECONDS = 14_400;

/**
 * What the duration cap counts. A recording is refused when either
 * - its duration (seconds per channel) is over the cap `maxSeconds`, or
 * - its channel-seconds (duration × the channels that will be transcribed: every source channel
 *   when they are kept separate, 1 for a downmix) are over `CHANNEL_SECONDS_PER_CAP × maxSeconds`.
 *
 * Why both: since recordings are decoded in chunks, memory no longer grows with the duration
 * (it is a window per channel); what still grows is the engine's work, which is per channel-second
 * (each channel is transcribed on its own). Counting channel-seconds alone against the cap would
 * refuse a 4 h stereo call under the 4 h default, the commonest long recording (agent and customer
 * on two channels); counting seconds alone would let a 16-channel file cost 16 times the cap. Twice
 * the cap keeps every recording the old rule accepted up to stereo (a 4 h stereo call passes) and
 * bounds wide files (16 channels: 30 min under the default).
 */
export const CHANNEL_SECONDS_PER_CAP = 2;
