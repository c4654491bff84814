/**
 * The Library's screens rendered by React itself (react-dom/server; no browser needed): snippet
 * safety, word spans with times, low-confidence marking, the playback contract, talk time; and the
 * pure parts behind them (search query, FDC3 contacts). Interaction is in test/e2e/library.test.ts.
 */
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { Transcript } from "../../src/contracts";
import type { LibraryEntry } from "../../src/library/api/types";
import { contactFilter, refusal } from "../../src/library/fdc3/contact";
import { parseSnippet, Snippet } from "../../src/library/ui/Snippet";
import { filterProblems, NO_FILTERS, searchQueryString } from "../../src/library/ui/searchQuery";
import { carriedTurnSentiment, talkTimes, turnsOf } from "../../src/library/ui/transcriptModel";
import { TranscriptView } from "../../src/library/ui/TranscriptView";
import { recordContact } from "../../src/demo/crm/viewInteractions";
import { validateContext } from "../../src/contracts";

const transcript: Transcript = {
  type: "fdc3.transcript",
  id: { transcriptId: "t-view", callId: "c-view" },
  source: "call",
  participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", name: "Jane Doe", id: { email: "jane.doe@example.com" } }] },
  text: "he was not an ill disposed young man he might even have been made amiable",
  segments: [
    {
      speaker: "agent",
      start: 0.42,
      end: 2.31,
      text: "he was not an ill disposed young man",
      confidence: 0.8,
      words: [
        { word: "he", start: 0.42, end: 0.55, confidence: 0.91 },
        { word: "was", start: 0.55, end: 0.74, confidence: 0.88 },
        { word: "not", start: 0.74, end: 0.9, confidence: 0.59 },
        { word: "an", start: 0.9, end: 1.0, confidence: 0.6 },
        { word: "ill", start: 1.0, end: 1.2, confidence: 0.2 },
      ],
    },
    { speaker: "Jane Doe", start: 65.0, end: 71.0, text: "he might even have been made amiable", confidence: 0.7 },
  ],
  summary: "A short passage.",
  topics: ["Support Request"],
  keyPhrases: ["young man"],
  actionItems: ["call back"],
  sentiment: { label: "neutral", score: 0 },
  duration: 71,
} as Transcript;

const entry: LibraryEntry = {
  id: "00000000-0000-4000-8000-000000000001",
  source: "call",
  startedAt: "2026-11-21T09:30:00.000Z",
  duration: 71,
  createdAt: "2026-11-21T09:40:00.000Z",
  saves: [{ appId: "notes-crm", status: "Created", recordId: "NOTE-000001", savedAt: "2026-11-21T09:41:00.000Z", result: { type: "fdc3.transactionResult", status: "Created", message: "Saved as NOTE-000001 in Notes CRM" } },
    { appId: "acme-crm", status: "Updated", recordId: "t-view", savedAt: "2026-11-21T09:42:00.000Z", result: { type: "fdc3.transactionResult", status: "Updated", context: { type: "fdc3.transcript", id: { transcriptId: "t-view", crmRecordId: "ACME-000002" } } } },
  ],
  transcript,
};

const html = (props: Parameters<typeof TranscriptView>[0]) => renderToStaticMarkup(createElement(TranscriptView, props));

describe("snippet rendering", () => {
  it("keeps <mark> and decodes the server's entities into text", () => {
    expect(parseSnippet("a &lt;b&gt; <mark>refund</mark> &amp; <mark>order</mark>&#39;s &quot;x&quot;")).toEqual([
      { text: "a <b> ", mark: false },
      { text: "refund", mark: true },
      { text: " & ", mark: false },
      { text: "order", mark: true },
      { text: `'s "x"`, mark: false },
    ]);
  });

  it("renders anything else, even raw tags, as escaped text: no element but <mark> comes out", () => {
    const hostile = `<img src=x onerror=alert(1)><mark>hit</mark><script>alert(2)</script>&lt;mark&gt;not a mark&lt;/mark&gt;<MARK>x</MARK><mark onclick=y>z</mark>`;
    const out = renderToStaticMarkup(createElement(Snippet, { html: hostile }));
    expect(out).not.toMatch(/<img|<script|<MARK|onclick=y>/);
    expect(out).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(out).toContain("<mark>hit</mark>");
    expect(out).toContain("&lt;script&gt;alert(2)&lt;/script&gt;");
    // An escaped <mark> from the text stays text.
    expect(out).toContain("&lt;mark&gt;not a mark&lt;/mark&gt;");
    const tags = [...out.matchAll(/<([a-zA-Z]+)/g)].map((m) => m[1]);
    expect(new Set(tags)).toEqual(new Set(["p", "span", "mark"]));
    expect(out.match(/<mark>/g)).toHaveLength(1);
  });

  it("an unbalanced </mark> is dropped; an unclosed <mark> marks to the end", () => {
    expect(parseSnippet("a</mark> b <mark>c")).toEqual([
      { text: "a b ", mark: false },
      { text: "c", mark: true },
    ]);
  });
});

describe("transcript view", () => {
  it("each word is a span with data-start/data-end; words under 0.6 confidence are marked with a title", () => {
    const out = html({ entry });
    expect(out).toContain('<span class="word" data-start="0.42" data-end="0.55" data-confidence="0.91">he</span>');
    expect(out).toContain('<span class="word low-confidence" data-start="0.74" data-end="0.9" data-confidence="0.59" title="confidence 0.59">not</span>');
    // 0.6 itself is not low.
    expect(out).toContain('<span class="word" data-start="0.9" data-end="1" data-confidence="0.6">an</span>');
    expect(out).toContain('title="confidence 0.20">ill</span>');
    expect(out.match(/low-confidence/g)).toHaveLength(2);
  });

  it("turns show speaker and mm:ss start; a turn without word times shows its text", () => {
    const out = html({ entry });
    expect(out).toMatch(/<span class="turn-speaker">agent<\/span><time class="turn-start"[^>]*>00:00<\/time>/);
    expect(out).toMatch(/<span class="turn-speaker">Jane Doe<\/span><time class="turn-start"[^>]*>01:05<\/time>/);
    expect(out).toContain('<p class="turn-text">he might even have been made amiable</p>');
  });

  it("playback: the word at the time is current (aria-current), no other is; without playback none is", () => {
    const out = html({ entry, playback: { time: 0.8, seek: () => undefined } });
    expect(out).toContain('<span class="word low-confidence current" data-start="0.74" data-end="0.9" data-confidence="0.59" title="confidence 0.59" aria-current="true">not</span>');
    expect(out.match(/aria-current/g)).toHaveLength(1);
    // start ≤ time < end: at 0.9 exactly it is "an", not "not".
    const atBoundary = html({ entry, playback: { time: 0.9, seek: () => undefined } });
    expect(atBoundary).toMatch(/class="word current"[^>]*aria-current="true">an</);
    expect(html({ entry })).not.toContain("current");
  });

  it("the player slot is drawn at the top", () => {
    const out = html({ entry, player: createElement("audio", { "data-testid": "player" }) });
    expect(out.indexOf('data-testid="player"')).toBeGreaterThan(-1);
    expect(out.indexOf('data-testid="player"')).toBeLessThan(out.indexOf('aria-label="Turns"'));
  });

  it("shows the analysis, talk time per party (seconds and %), the sentiment strip and the CRM saves", () => {
    const out = html({ entry });
    for (const label of ["Analysis", "Sentiment timeline", "Talk time", "Turns", "CRM saves"]) expect(out).toContain(`aria-label="${label}"`);
    expect(out).toContain("A short passage.");
    expect(out).toContain("Support Request");
    expect(out).toContain("young man");
    expect(out).toContain("call back");
    // agent 1.89 s, Jane Doe 6 s: 24% and 76%.
    expect(out).toMatch(/<tr data-speaker="Jane Doe"><th scope="row">Jane Doe<\/th><td class="lib-talk-seconds">6.0 s<\/td><td class="lib-talk-percent">76%<\/td>/);
    expect(out).toMatch(/<tr data-speaker="agent"><th scope="row">agent<\/th><td class="lib-talk-seconds">1.9 s<\/td><td class="lib-talk-percent">24%<\/td>/);
    expect(out.match(/lib-timeline-seg/g)).toHaveLength(2);
    expect(out).toContain("Created</strong> by notes-crm as NOTE-000001");
    // The CRM's own record id, not the transcript id the server read from the echoed context.
    expect(out).toContain("Updated</strong> by acme-crm as ACME-000002");
    expect(out).toContain('aria-label="Export as WebVTT"');
  });

  it("uses per-turn sentiment the transcript carries (the pipeline's sentiment.perTurn)", () => {
    const t = { ...transcript, sentiment: { label: "negative", score: -0.2, perTurn: [{ segment: 1, label: "negative", score: -0.4 }] } } as unknown as Transcript;
    const turns = turnsOf(t);
    expect(carriedTurnSentiment(t, turns)).toEqual([undefined, { label: "negative", score: -0.4 }]);
    const out = html({ entry: { ...entry, transcript: t } });
    expect(out).toContain('data-turn="1" data-sentiment="negative"');
    expect(carriedTurnSentiment(transcript, turnsOf(transcript))).toBeUndefined();
    expect(talkTimes(turns).map((r) => r.speaker)).toEqual(["Jane Doe", "agent"]);
  });
});

describe("search query", () => {
  it("sends only set filters, trimmed, with an inclusive `to` day", () => {
    const qs = new URLSearchParams(searchQueryString({ ...NO_FILTERS, q: "  refund order ", from: "2026-11-01", to: "2026-11-30", participant: "jane.doe@example.com", sentiment: "negative" }, "abc_-1"));
    expect(Object.fromEntries(qs)).toEqual({ q: "refund order", from: "2026-11-01", to: "2026-12-01", participant: "jane.doe@example.com", sentiment: "negative", limit: "20", cursor: "abc_-1" });
    expect(searchQueryString(NO_FILTERS)).toBe("limit=20");
    expect(filterProblems({ ...NO_FILTERS, from: "2026-11-30", to: "2026-11-01" })).toEqual(["The date range ends before it starts."]);
    expect(filterProblems({ ...NO_FILTERS, participant: "ab" })).toHaveLength(1);
  });
});

describe("FDC3 contacts", () => {
  it("a contact opens the search by e-mail, else by phone", () => {
    expect(contactFilter({ type: "fdc3.contact", name: "Jane Doe", id: { email: "jane.doe@example.com", phone: "+1 415 555 0100" } })).toEqual({ ok: true, filter: { participant: "jane.doe@example.com", label: "Jane Doe" } });
    expect(contactFilter({ type: "fdc3.contact", id: { phone: "+1 415 555 0100" } })).toEqual({ ok: true, filter: { participant: "+1 415 555 0100", label: "+1 415 555 0100" } });
  });

  it("refuses other types, invalid contacts and contacts without e-mail or phone, with a Failed transactionResult", () => {
    const cases: [unknown, RegExp][] = [
      [{ type: "fdc3.instrument", id: { ticker: "AAPL" } }, /expected an fdc3.contact, got fdc3.instrument/],
      [{ type: "fdc3.contact", id: { email: "not an email" } }, /invalid fdc3.contact: \/id\/email must match format "email"/],
      [{ type: "fdc3.contact", id: { FDS_ID: "x" } }, /neither id.email nor id.phone/],
      [null, /no context type/],
    ];
    for (const [ctx, msg] of cases) {
      const r = contactFilter(ctx);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toMatch(msg);
        const failed = refusal(r.error);
        expect(validateContext(failed).valid).toBe(true);
        expect(failed).toMatchObject({ type: "fdc3.transactionResult", status: "Failed" });
      }
    }
  });

  it("the CRM's View calls sends the record's contact, valid against the standard schema", () => {
    const c = recordContact(transcript);
    expect(c).toEqual({ type: "fdc3.contact", name: "Jane Doe", id: { email: "jane.doe@example.com" } });
    expect(validateContext(c).valid).toBe(true);
    expect(recordContact({ ...transcript, participants: undefined } as unknown as Transcript)).toBeUndefined();
  });
});

