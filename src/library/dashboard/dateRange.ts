/**
 * The dashboard's date range: two UTC calendar days (YYYY-MM-DD, both included), as
 * `GET /v1/dashboard` takes them, and the presets (last 7, 30, 90 days, ending today).
 */

/** A range of UTC days, both included. */
export interface DayRange {
  from: string;
  to: string;
}

/** Longest range the server takes, days. */
export const MAX_RANGE_DAYS = 366;

/** The presets: label and length in days. */
export const PRESETS: readonly { label: string; days: number }[] = [
  { label: "Last 7 days", days: 7 },
  { label: "Last 30 days", days: 30 },
  { label: "Last 90 days", days: 90 },
];

const DAY_MS = 86_400_000;
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The last `days` days ending on `today` (UTC). */
export function lastDays(days: number, today: Date = new Date()): DayRange {
  const end = Date.parse(`${dayOf(today.getTime())}T00:00:00Z`);
  return { from: dayOf(end - (days - 1) * DAY_MS), to: dayOf(end) };
}

/** Days in the range (both ends counted); NaN when a day is not valid. */
export function rangeDays(r: DayRange): number {
  return (Date.parse(`${r.to}T00:00:00Z`) - Date.parse(`${r.from}T00:00:00Z`)) / DAY_MS + 1;
}

/** Why a range cannot be asked for; undefined when it can. */
export function rangeProblem(r: DayRange): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(r.from) || !/^\d{4}-\d{2}-\d{2}$/.test(r.to)) return "Pick both days.";
  const n = rangeDays(r);
  if (Number.isNaN(n)) return "Pick both days.";
  if (n < 1) return "The first day is after the last.";
  if (n > MAX_RANGE_DAYS) return `At most ${MAX_RANGE_DAYS} days.`;
  return undefined;
}

/** Which preset the range is, if any. */
export function presetOf(r: DayRange, today: Date = new Date()): string | undefined {
  return PRESETS.find((p) => {
    const x = lastDays(p.days, today);
    return x.from === r.from && x.to === r.to;
  })?.label;
}
