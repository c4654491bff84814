/**
 * The transcript panel's audio states rendered by React itself (react-dom/server, first render,
 * no browser): a recorded call whose audio retention deleted says "Audio no longer retained" and
 * has no player; one with audio starts loading it; a live call has neither. Playing, the
 * highlight and seeking run in real Chromium: test/e2e/playback.test.ts.
 */
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { Transcript } from "../../src/contracts";
import type { LibraryApi } from "../../src/library/api/client";
import type { LibraryEntry } from "../../src/library/api/types";
import { TranscriptPanel } from "../../src/library/ui/TranscriptPanel";

const transcript = {
  type: "fdc3.transcript",
  id: { transcriptId: "t-rec", callId: "c-rec" },
  source: "recording",
  text: "go forward ten meters",
  segments: [{ speaker: "customer", start: 0.1, end: 1.6, text: "go forward ten meters", confidence: 0.9, words: [{ word: "go", start: 0.1, end: 0.3, confidence: 0.9 }, { word: "forward", start: 0.3, end: 0.8, confidence: 0.9 }] }],
  duration: 1.6,
} as Transcript;

const base: LibraryEntry = { id: "00000000-0000-4000-8000-000000000002", source: "recording", callId: "c-rec", startedAt: "2026-11-21T09:30:00.000Z", createdAt: "2026-11-21T09:40:00.000Z", saves: [], transcript };
const api: LibraryApi = { baseUrl: "", getJson: () => Promise.reject(new Error("not in this test")), getBlob: () => new Promise(() => undefined) };
const html = (entry: LibraryEntry) => renderToStaticMarkup(createElement(TranscriptPanel, { entry, api }));

describe("transcript panel audio", () => {
  it("says Audio no longer retained once retention deleted it, with no player and no clickable words", () => {
    const out = html({ ...base, audio: { status: "deleted", deletedAt: "2026-12-01T07:07:00.000Z" } });
    expect(out).toContain('data-testid="audio-gone"');
    expect(out).toContain("Audio no longer retained");
    expect(out).not.toContain("<audio");
    expect(out).not.toContain("playable");
  });

  it("loads the audio of a recorded call that has it; a call without audio shows no player", () => {
    const loading = html({ ...base, audio: { status: "available", bytes: 52_000 } });
    expect(loading).toContain('aria-label="Call audio"');
    expect(loading).toContain("Loading the call");
    expect(html({ ...base, source: "call", audio: { status: "none" } })).not.toContain("Call audio");
    expect(html(base)).not.toContain("Call audio");
    expect(html({ ...base, audio: { status: "missing" } })).toContain('data-testid="audio-error"');
  });
});
