/**
 * Transcript exports (issue 9 §3): plain text, JSON, WebVTT and SubRip (SRT), as pure functions of
 * an `fdc3.transcript`. Cues come from `segments` (one cue per segment, times in seconds from the
 * start of the audio); a transcript without segments gives one cue over `[0, duration]`.
 *
 * The subtitle files are built by `subsrt-ts` (MIT, no dependencies): it writes the cue numbers
 * and times (`00:01:02.500` in WebVTT, `00:01:02,500` in SRT). What it leaves to the caller, done
 * here: cue text that cannot break the file (no blank lines, no `-->`), WebVTT's escaping of `&`,
 * `<`, `>` (W3C WebVTT §4.2.2 cue text) and the speaker as a voice span `<v Speaker>` (§4.2.2).
 */
import subsrt from "subsrt-ts";
import type { Transcript } from "../../contracts";

/** The export formats, as the Library offers them. */
export type ExportFormat = "txt" | "json" | "vtt" | "srt";

/** One exported file: name, MIME type and text. */
export interface ExportFile {
  filename: string;
  mimeType: string;
  text: string;
}

/** One cue: start/end in seconds, speaker, text. */
export interface Cue {
  start: number;
  end: number;
  speaker?: string;
  text: string;
}

/** Cues of a transcript: its segments (empty text dropped), or one cue over the whole text. */
export function cuesOf(t: Transcript): Cue[] {
  const segments = t.segments ?? [];
  if (segments.length === 0) return t.text.trim() ? [{ start: 0, end: t.duration ?? 0, text: t.text.trim() }] : [];
  return segments
    .filter((s) => s.text.trim().length > 0)
    .map((s) => ({ start: s.start, end: Math.max(s.end, s.start), speaker: s.speaker, text: s.text.trim() }));
}

/** Clock of the text export and the transcript view: `mm:ss`, or `h:mm:ss` past an hour; seconds floored. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Cue text on one line: whitespace (newlines included) collapsed, `-->` spelled `->`. */
const oneLine = (text: string) => text.replace(/\s+/g, " ").replaceAll("-->", "->").trim();
/** WebVTT cue-text escaping (W3C WebVTT: `&amp;`, `&lt;`, `&gt;`). */
const vttEscape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/** A voice-span annotation cannot hold `>` or a line break. */
const vttVoice = (speaker: string) => vttEscape(speaker.replace(/[\r\n]+/g, " ")).trim();
const ms = (seconds: number) => Math.max(0, Math.round(seconds * 1000));

/** The transcript as text: a header (who, when, engine), then `[mm:ss] Speaker: text` per turn. */
export function toText(t: Transcript): string {
  const who = t.participants?.contacts.map((c) => c.name ?? c.id.email ?? (c.id as { phone?: string }).phone ?? "").filter(Boolean) ?? [];
  const range = t.timeRange as { startTime?: string } | undefined;
  const header = [
    `Transcript ${t.id.transcriptId}${t.id.callId ? ` (call ${t.id.callId})` : ""}`,
    ...(range?.startTime ? [`Started: ${range.startTime}`] : []),
    ...(who.length ? [`With: ${who.join(", ")}`] : []),
    ...(t.provider ? [`Engine: ${t.provider.name}${t.provider.model ? ` ${t.provider.model}` : ""}`] : []),
    ...(t.summary ? [`Summary: ${t.summary}`] : []),
  ];
  const lines = (t.segments?.length ? cuesOf(t) : []).map((c) => `[${clock(c.start)}] ${c.speaker ? `${c.speaker}: ` : ""}${oneLine(c.text)}`);
  return `${header.join("\n")}\n\n${lines.length ? lines.join("\n") : t.text.trim()}\n`;
}

/** The `fdc3.transcript` itself, pretty-printed (2 spaces). */
export function toJson(t: Transcript): string {
  return `${JSON.stringify(t, null, 2)}\n`;
}

/** WebVTT: `WEBVTT`, then numbered cues `00:00:01.250 --> 00:00:03.000` with `<v Speaker>text`. Line ends `\n`. */
export function toWebVtt(t: Transcript): string {
  const captions = cuesOf(t).map((c) => ({
    type: "caption" as const,
    start: ms(c.start),
    end: ms(c.end),
    text: c.speaker ? `<v ${vttVoice(c.speaker)}>${vttEscape(oneLine(c.text))}` : vttEscape(oneLine(c.text)),
  }));
  return subsrt.build(captions as never, { format: "vtt", eol: "\n" });
}

/** SubRip: numbered cues `00:00:01,250 --> 00:00:03,000`, `Speaker: text`. Line ends CRLF (as SubRip players expect). */
export function toSrt(t: Transcript): string {
  const captions = cuesOf(t).map((c) => ({ type: "caption" as const, start: ms(c.start), end: ms(c.end), text: `${c.speaker ? `${oneLine(c.speaker)}: ` : ""}${oneLine(c.text)}` }));
  return subsrt.build(captions as never, { format: "srt", eol: "\r\n" });
}

/**
 * The file name of an export, after the call: `call-<callId>` (or `transcript-<transcriptId>`)
 * plus the start date, with anything but letters, digits, `.`, `_`, `-` replaced by `_`.
 */
export function exportBaseName(t: Transcript): string {
  const start = (t.timeRange as { startTime?: string } | undefined)?.startTime;
  const base = `${t.id.callId ? `call-${t.id.callId}` : `transcript-${t.id.transcriptId}`}${start ? `-${start.slice(0, 10)}` : ""}`;
  return base.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 120);
}

const BUILDERS: Record<ExportFormat, { build: (t: Transcript) => string; mimeType: string }> = {
  txt: { build: toText, mimeType: "text/plain;charset=utf-8" },
  json: { build: toJson, mimeType: "application/json" },
  vtt: { build: toWebVtt, mimeType: "text/vtt;charset=utf-8" },
  srt: { build: toSrt, mimeType: "application/x-subrip;charset=utf-8" },
};

/** The export of `t` in `format`: `{filename: "<base>.<format>", mimeType, text}`. */
export function exportTranscript(t: Transcript, format: ExportFormat): ExportFile {
  const b = BUILDERS[format];
  return { filename: `${exportBaseName(t)}.${format}`, mimeType: b.mimeType, text: b.build(t) };
}
