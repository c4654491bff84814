/**
 * AudioHook durations (protocol v2, "Duration" type): ISO 8601 durations in seconds only,
 * `PT<non-negative decimal>S`, e.g. `PT0S`, `PT1.5S`, `PT12.345S`. Positions in client messages,
 * `discarded`/`resumed` parameters and transcript offsets use them.
 */

/** The pattern of an AudioHook duration (JSON Schema `pattern`). */
export const DURATION_PATTERN = "^PT(?:[0-9]{1,12}(?:\\.[0-9]{0,9})?|\\.[0-9]{1,9})S$";
const DURATION_RE = new RegExp(DURATION_PATTERN);

/**
 * Seconds of a duration.
 * @throws RangeError when `text` is not `PT<decimal>S`
 */
export function parseDuration(text: string): number {
  if (!DURATION_RE.test(text)) throw new RangeError(`not an AudioHook duration (PT<seconds>S): ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text.slice(2, -1));
}

/** `seconds` (≥ 0) as `PT<seconds>S` with at most 3 decimals (ms), no trailing zeros: `PT1.5S`, `PT0S`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
  return `PT${Number(s.toFixed(3)).toString()}S`;
}
