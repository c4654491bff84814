/**
 * Analyze stage: on-premise analysis (wink-nlp) of a real PocketSphinx transcript of a real call
 * recording from the corpus (the first 60 s of calls_conversational/azure/test_call_audio.wav, a
 * sales call), the documented rules on small hand-written transcripts, and the optional LLM path
 * against a local fake OpenAI-compatible server (no model can run here).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transcript, TranscriptSegment } from "../../src/contracts";
import { analyzeTranscript, DEFAULT_TAXONOMY, talkTimes } from "../../src/server/pipeline/stages/analyze";
import { decodeRecording } from "../../src/server/pipeline/stages/decode";
import { ENGINE_SAMPLE_RATE } from "../../src/server/speech/engines/engine";
import { transcribeRecording } from "../../src/server/pipeline/stages/transcribe";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { corpusDir } from "../support/recordings-server";
import { startFakeLlmServer, type FakeLlmServer } from "../support/fake-llm-server";

const CALL = "calls_conversational/azure/test_call_audio.wav";
const SECONDS = 60;

let real: Transcript;
let llm: FakeLlmServer;

beforeAll(async () => {
  const engine = createPocketSphinxEngine();
  try {
    const audio = await decodeRecording(new Uint8Array(await readFile(join(corpusDir(), CALL))));
    const n = Math.min(audio.channels[0].length, SECONDS * ENGINE_SAMPLE_RATE);
    const trimmed = { ...audio, channels: audio.channels.map((c) => c.subarray(0, n)), duration: n / ENGINE_SAMPLE_RATE };
    real = await transcribeRecording(engine, trimmed, { call_id: "call-azure", recording_url: "http://recorder.invalid/azure.wav" });
  } finally {
    await engine.close();
  }
  llm = await startFakeLlmServer({ status: 500, body: "{}" });
}, 180_000);
afterAll(async () => {
  await llm?.close();
});

const normal = (s: string) => s.toLowerCase().replace(/[^a-z0-9' ]/g, " ").replace(/\s+/g, " ").trim();

function transcriptOf(segments: Omit<TranscriptSegment, "confidence">[], duration: number): Transcript {
  return {
    type: "fdc3.transcript",
    id: { transcriptId: "t-1", callId: "c-1" },
    source: "recording",
    text: segments.map((s) => s.text).join("\n"),
    segments: segments.map((s) => ({ ...s, confidence: 0.9 })),
    duration,
  };
}

describe("analyzeTranscript on a real call transcript", () => {
  it("gives a summary from the call, a taxonomy topic, sentiment per turn, key phrases and talk time", async () => {
    const segments = real.segments!;
    expect(segments.length).toBeGreaterThan(5);
    const analysis = await analyzeTranscript(real);
    console.info(`analysis of ${CALL} (first ${SECONDS} s): ${JSON.stringify({ ...analysis, sentiment: { ...analysis.sentiment, perTurn: analysis.sentiment.perTurn.length } })}`);

    // Extractive: every summary sentence is (a sentence of) one transcript segment.
    const sentences = analysis.summary.split(/(?<=[.…])\s+/).map(normal).filter(Boolean);
    expect(sentences.length).toBeGreaterThanOrEqual(1);
    expect(sentences.length).toBeLessThanOrEqual(3);
    expect(sentences.every((s) => s.split(" ").length <= 30)).toBe(true);
    for (const s of sentences) expect(segments.some((seg) => normal(seg.text).includes(s)), s).toBe(true);

    expect(DEFAULT_TAXONOMY).toContain(analysis.topic);
    expect(["positive", "neutral", "negative"]).toContain(analysis.sentiment.label);
    expect(Math.abs(analysis.sentiment.score)).toBeLessThanOrEqual(1);
    expect(analysis.sentiment.perTurn.map((t) => t.segment)).toEqual(segments.map((_, i) => i));
    // The call is friendly: at least one turn scores positive.
    expect(analysis.sentiment.perTurn.some((t) => t.label === "positive")).toBe(true);

    expect(analysis.keyPhrases.length).toBeGreaterThan(0);
    for (const p of analysis.keyPhrases) expect(normal(real.text)).toContain(normal(p));

    // Mono: one speaker label; talk time + silence covers the whole duration.
    expect(Object.keys(analysis.talkTime)).toEqual(["mixed"]);
    expect(analysis.talkTime.mixed).toBeGreaterThan(10);
    expect(analysis.talkTime.mixed + analysis.silenceSec).toBeCloseTo(real.duration!, 1);
  });
});

describe("analyzeTranscript rules", () => {
  const billingCall = transcriptOf(
    [
      { speaker: "agent", channel: 0, start: 0.5, end: 3, text: "thank you for calling how can i help you today" },
      { speaker: "customer", channel: 1, start: 3.5, end: 9, text: "i was charged twice on my last invoice and the payment left my account" },
      { speaker: "agent", channel: 0, start: 9.2, end: 14, text: "i'm sorry about that i will refund the duplicate charge to your credit card" },
      { speaker: "customer", channel: 1, start: 13.5, end: 16, text: "please send me the receipt by friday" },
      { speaker: "agent", channel: 0, start: 17, end: 20, text: "we'll email the corrected invoice tomorrow morning" },
    ],
    22,
  );

  it("picks the topic by keyword scoring and finds the action items", async () => {
    const analysis = await analyzeTranscript(billingCall);
    expect(analysis.topic).toBe("Billing");
    expect(analysis.actionItems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^i will refund the duplicate charge/), expect.stringMatching(/^please send me the receipt by friday/), expect.stringMatching(/^we will email the corrected invoice tomorrow/)]),
    );
    expect(analysis.actionItems.some((a) => a.startsWith("thank you"))).toBe(false);
    expect(analysis.keyPhrases).toEqual(expect.arrayContaining(["credit card"]));
    expect(analysis.summary.length).toBeGreaterThan(20);
    // Multichannel summary lines name the speaker.
    expect(analysis.summary).toMatch(/^(agent|customer): /);
  });

  it("computes talk time per speaker and silence from segment times (overlaps counted once)", () => {
    const { talkTime, silenceSec } = talkTimes(billingCall.segments!, 22);
    expect(talkTime).toEqual({ agent: 2.5 + 4.8 + 3, customer: 5.5 + 2.5 });
    // Speech covers [0.5,3] [3.5,9] [9.2,16] [17,20] = 2.5 + 5.5 + 6.8 + 3 = 17.8 s of 22 s.
    expect(silenceSec).toBeCloseTo(22 - 17.8, 3);
  });

  it("scores sentiment per turn and overall", async () => {
    const angry = transcriptOf(
      [
        { speaker: "customer", start: 0, end: 4, text: "this is terrible i am angry and very disappointed with your awful service" },
        { speaker: "agent", start: 4, end: 6, text: "i understand" },
      ],
      6,
    );
    const a = await analyzeTranscript(angry);
    expect(a.sentiment.perTurn[0]).toMatchObject({ segment: 0, label: "negative" });
    expect(a.sentiment.perTurn[1]).toMatchObject({ segment: 1, label: "neutral", score: 0 });
    expect(a.sentiment.label).toBe("negative");
    expect(a.topic).toBe("Complaint");
    const happy = await analyzeTranscript(transcriptOf([{ speaker: "customer", start: 0, end: 3, text: "thank you so much that was great and really helpful" }], 3));
    expect(happy.sentiment.label).toBe("positive");
    expect(happy.sentiment.score).toBeGreaterThan(0);
  });

  it("uses a custom taxonomy, with label words or given keywords", async () => {
    const call = transcriptOf([{ speaker: "customer", start: 0, end: 4, text: "i want to move my mortgage and ask about the interest rate on a loan" }], 4);
    expect((await analyzeTranscript(call, { taxonomy: ["Card Services", "Mortgage"] })).topic).toBe("Mortgage");
    expect((await analyzeTranscript(call, { taxonomy: ["Deposits", { label: "Lending", keywords: ["loan", "interest rate"] }] })).topic).toBe("Lending");
    // No keyword at all: the first label.
    expect((await analyzeTranscript(call, { taxonomy: ["Travel", "Weather"] })).topic).toBe("Travel");
  });

  it("handles a transcript with no speech", async () => {
    const empty = transcriptOf([], 5);
    const a = await analyzeTranscript(empty);
    expect(a.summary).toMatch(/No speech/);
    expect(a.topic).toBe(DEFAULT_TAXONOMY[0]);
    expect(a.sentiment).toEqual({ label: "neutral", score: 0, perTurn: [] });
    expect(a.talkTime).toEqual({});
    expect(a.silenceSec).toBe(5);
  });
});

describe("analyzeTranscript with an OpenAI-compatible LLM (fake server)", () => {
  const taxonomy = [...DEFAULT_TAXONOMY];

  it("takes summary and topic from a valid JSON answer", async () => {
    llm.reply({ content: JSON.stringify({ summary: "The customer asked about pricing for the premium plan.", topic: "Sales Inquiry" }) });
    const fallbacks: string[] = [];
    const a = await analyzeTranscript(real, { llm: { baseUrl: llm.baseUrl, model: "fake-model", apiKey: "k" }, onLlmFallback: (r) => fallbacks.push(r) });
    expect(fallbacks).toEqual([]);
    expect(a.summary).toBe("The customer asked about pricing for the premium plan.");
    expect(a.topic).toBe("Sales Inquiry");
    const request = llm.requests.at(-1) as { model: string; messages: { role: string; content: string }[]; response_format: { type: string; json_schema: { schema: { properties: { topic: { enum: string[] } } } } } };
    expect(request.model).toBe("fake-model");
    expect(request.response_format.type).toBe("json_schema");
    expect(request.response_format.json_schema.schema.properties.topic.enum).toEqual(taxonomy);
    expect(request.messages[1].content).toContain(`mixed: ${real.segments![0].text}`);
  });

  it("falls back to on-premise when the answer is off-schema, not JSON, an HTTP error, or unreachable", async () => {
    const onPrem = await analyzeTranscript(real);
    const cases: [Parameters<FakeLlmServer["reply"]>[0] | "down", RegExp][] = [
      [{ content: JSON.stringify({ summary: "x", topic: "Weather" }) }, /does not match the schema/],
      [{ content: "Sure! The topic is billing." }, /not JSON/],
      [{ status: 500, body: "{}" }, /HTTP 500/],
      [{ status: 200, body: "{\"object\":\"error\"}" }, /not a chat completion/],
      ["down", /unreachable/],
    ];
    for (const [reply, reason] of cases) {
      const fallbacks: string[] = [];
      const baseUrl = reply === "down" ? "http://127.0.0.1:1/v1" : llm.baseUrl;
      if (reply !== "down") llm.reply(reply);
      const a = await analyzeTranscript(real, { llm: { baseUrl, model: "fake-model", timeoutMs: 2000 }, onLlmFallback: (r) => fallbacks.push(r) });
      expect(fallbacks, String(reason)).toEqual([expect.stringMatching(reason)]);
      expect(a.summary).toBe(onPrem.summary);
      expect(a.topic).toBe(onPrem.topic);
    }
  });
});
