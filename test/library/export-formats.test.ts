/** Library exports (issue 9 §3): TXT, JSON, WebVTT, SRT from an fdc3.transcript's segments. */
import { describe, expect, it } from "vitest";
import { validateContext, type Transcript } from "../../src/contracts";
import { clock, cuesOf, exportBaseName, exportTranscript, toJson, toSrt, toText, toWebVtt } from "../../src/library/export/formats";

/** Two parties, times that exercise hours, minutes and milliseconds; one turn holds markup. */
const T: Transcript = {
  type: "fdc3.transcript",
  id: { transcriptId: "t-1", callId: "call/42 x" },
  source: "call",
  participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", name: "Jane Doe", id: { email: "jane.doe@example.com" } }] },
  timeRange: { type: "fdc3.timeRange", startTime: "2026-11-21T09:30:00.000Z", endTime: "2026-11-21T10:32:00.000Z" },
  language: "en",
  text: "he was not an ill disposed young man. unless <b>rather</b> cold & selfish --> ill",
  segments: [
    { speaker: "agent", start: 62.5, end: 64.25, text: "he was not an ill disposed young man", confidence: 0.8 },
    { speaker: "Jane <Doe>", start: 3723.004, end: 3725.9996, text: "unless <b>rather</b> cold & selfish\n\n--> ill", confidence: 0.7 },
    { speaker: "agent", start: 3726, end: 3727, text: "   ", confidence: 0.7 },
  ],
  provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
  duration: 3727,
} as Transcript;

describe("export formats", () => {
  it("the test transcript is a valid fdc3.transcript", () => {
    const v = validateContext(T);
    expect(v.valid ? "valid" : v.error).toBe("valid");
  });

  it("cues come from the segments; empty ones are dropped", () => {
    expect(cuesOf(T).map((c) => [c.start, c.end, c.speaker])).toEqual([
      [62.5, 64.25, "agent"],
      [3723.004, 3725.9996, "Jane <Doe>"],
    ]);
    const noSegments = { ...T, segments: undefined } as unknown as Transcript;
    expect(cuesOf(noSegments)).toEqual([{ start: 0, end: 3727, text: T.text }]);
  });

  it("WebVTT: header, hh:mm:ss.mmm with a dot, voice spans, escaped cue text on one line", () => {
    const vtt = toWebVtt(T);
    expect(vtt.startsWith("WEBVTT\n\n")).toBe(true);
    expect(vtt).toContain("00:01:02.500 --> 00:01:04.250\n<v agent>he was not an ill disposed young man\n");
    // 3723.004 s = 1 h 2 min 3.004 s; 3725.9996 s rounds to 3726.000 s.
    expect(vtt).toContain("01:02:03.004 --> 01:02:06.000\n<v Jane &lt;Doe&gt;>unless &lt;b&gt;rather&lt;/b&gt; cold &amp; selfish -&gt; ill\n");
    // "-->" only between cue times.
    for (const line of vtt.split("\n")) if (line.includes("-->")) expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}$/);
    // Each cue: number, times, one text line, blank line: no stray blank line inside a cue.
    const blocks = vtt.trim().split("\n\n");
    expect(blocks).toHaveLength(3);
    for (const b of blocks.slice(1)) expect(b.split("\n")).toHaveLength(3);
    expect(vtt).not.toContain("\r");
  });

  it("SRT: numbered cues, hh:mm:ss,mmm with a comma, speaker prefix, CRLF", () => {
    const srt = toSrt(T);
    expect(srt).toBe(
      "1\r\n00:01:02,500 --> 00:01:04,250\r\nagent: he was not an ill disposed young man\r\n\r\n" +
        "2\r\n01:02:03,004 --> 01:02:06,000\r\nJane <Doe>: unless <b>rather</b> cold & selfish -> ill\r\n\r\n",
    );
  });

  it("TXT: a header, then [mm:ss] or [h:mm:ss] Speaker: text per turn", () => {
    const txt = toText(T);
    expect(txt).toContain("Transcript t-1 (call call/42 x)\nStarted: 2026-11-21T09:30:00.000Z\nWith: Jane Doe\nEngine: pocketsphinx pocketsphinx-en-us\n\n");
    expect(txt).toContain("[01:02] agent: he was not an ill disposed young man\n[1:02:03] Jane <Doe>: unless <b>rather</b> cold & selfish -> ill\n");
    expect(clock(0)).toBe("00:00");
    expect(clock(59.999)).toBe("00:59");
    expect(clock(3600)).toBe("1:00:00");
  });

  it("JSON: the transcript itself, which parses back to the same valid context", () => {
    const back = JSON.parse(toJson(T));
    expect(back).toEqual(T);
    expect(validateContext(back).valid).toBe(true);
  });

  it("files are named after the call, safe for any file system", () => {
    expect(exportBaseName(T)).toBe("call-call_42_x-2026-11-21");
    const dictation = { ...T, id: { transcriptId: "d-7" }, timeRange: undefined } as unknown as Transcript;
    expect(exportBaseName(dictation)).toBe("transcript-d-7");
    const f = exportTranscript(T, "srt");
    expect(f).toMatchObject({ filename: "call-call_42_x-2026-11-21.srt", mimeType: "application/x-subrip;charset=utf-8" });
    expect(exportTranscript(T, "vtt").mimeType).toBe("text/vtt;charset=utf-8");
    expect(exportTranscript(T, "json").filename.endsWith(".json")).toBe(true);
    expect(exportTranscript(T, "txt").text).toBe(toText(T));
  });
});
