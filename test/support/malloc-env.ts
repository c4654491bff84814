/**
 * Environment for a child process whose peak RSS a memory test compares across durations while
 * whisper.cpp decodes in it.
 *
 * smart-whisper's `transcribe` allocates a fresh decoding state (~120 MiB with the synthetic model)
 * on whichever libuv pool thread runs `whisper_full_with_state`, and frees it later from the JS
 * thread; glibc returns the freed memory to the arena of the thread that allocated it and keeps it
 * there. With several arenas, RSS then depends on how many pool threads happened to decode, not on
 * the recording. Measured with the batch CLI on 2 cores (10 vs 60 min FLAC, peak RSS growth, two
 * runs each, idle and with both cores busy): glibc's default arenas +248/+252 MiB, 2 arenas
 * +22 to +79 MiB (+136 MiB once in CI), 1 arena +11 to +31 MiB. One arena makes the freed state
 * the next decode's, so what is left is what the code under test holds.
 */
export const ONE_MALLOC_ARENA = { MALLOC_ARENA_MAX: "1" } as const;
