/** How the Library writes people, times and lengths. */

/** A participant as hits and transcripts carry them. */
export interface Who {
  name?: string;
  email?: string;
  phone?: string;
}

/** `Jane Doe, +1 415 555 0100` (names, else e-mails, else phones); `Unknown caller` when none. */
export function describeWho(who: readonly Who[]): string {
  const names = who.map((w) => w.name ?? w.email ?? w.phone).filter((x): x is string => Boolean(x));
  return names.length ? names.join(", ") : "Unknown caller";
}

/** A call's start in the user's locale, e.g. `21 Nov 2026, 09:30`. */
export function formatWhen(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A length in seconds as `m:ss` (`1:02`), or `h:mm:ss` past an hour. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
