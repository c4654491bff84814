/**
 * The transcriber attaches to a live call by its id (issue 8 §2), against the real server and
 * hub: a two-party call built from two real corpus recordings (test/support/two-party-call.ts)
 * streams into the server as a softphone would (multichannel `/v1/listen` with
 * `extra=call_id:<id>`, 8 kHz μ-law, real PocketSphinx), and the controller follows it through
 * `GET /v1/calls/:id/live` without opening any audio.
 *
 * Checked: the subscription waits for a call that starts after StartTranscription; the channels
 * are named from CallStarted (name and role); live transcripts carry both parties' segments;
 * the call's end gives the server's final transcript (both parties' segments on their channels,
 * within their turns) to SaveTranscript; a stop before the stream ends waits for CallEnded; a
 * stream that drops is reported and its words kept; a call id without a stream falls back.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { validateContext, type Transcript } from "../../src/contracts";
import { wordErrorRate } from "../../src/eval/wer";
import { openLiveCallConnection, type LiveCallEnded } from "../../src/transcriber/session/call-stream";
import { TranscriberController, type ControllerDeps, type SaveOutcome } from "../../src/transcriber/session/controller";
import { sleep, startServer, type RunningServer } from "../server/helpers";
import { buildTwoPartyCall, type TwoPartyCall } from "../support/two-party-call";

let server: RunningServer;
let call: TwoPartyCall;

const bob = { type: "fdc3.contact" as const, name: "Bob Customer", id: { email: "bob@example.com" } };

beforeAll(async () => {
  call = await buildTwoPartyCall([
    [0, "LJ001-0004"],
    [1, "1272-128104-0000"],
    [0, "LJ001-0002"],
  ]);
  server = await startServer();
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** The softphone's side: stream the call's audio, `speed` × real time, then CloseStream (or drop the socket). */
async function feedCall(callId: string, opts: { speed?: number; drop?: boolean; seconds?: number; extra?: string[] } = {}): Promise<{ code: number }> {
  const extra = [`call_id:${callId}`, ...(opts.extra ?? ["agent_name:Alice Agent", "customer_name:Bob Customer"])];
  const url =
    `${server.baseUrl.replace("http", "ws")}/v1/listen?encoding=mulaw&sample_rate=8000&channels=2&multichannel=true&interim_results=true&punctuate=true` +
    extra.map((e) => `&extra=${encodeURIComponent(e)}`).join("");
  const ws = new WebSocket(url);
  const closed = new Promise<{ code: number }>((resolve) => ws.on("close", (code) => resolve({ code })));
  await new Promise<void>((resolve, reject) => (ws.once("open", () => resolve()), ws.once("error", reject)));
  const frame = 1600; // 100 ms of 8 kHz stereo μ-law
  const end = opts.seconds ? Math.min(call.stereoMulaw.length, Math.round(opts.seconds * 16000)) : call.stereoMulaw.length;
  for (let i = 0; i < end && ws.readyState === ws.OPEN; i += frame) {
    ws.send(call.stereoMulaw.subarray(i, Math.min(end, i + frame)));
    await sleep(100 / (opts.speed ?? 4));
  }
  if (opts.drop) ws.terminate();
  else if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "CloseStream" }));
  return closed;
}

/** A controller whose audio must never open: a call with a stream uses the server's results. */
function attachingController(overrides: Partial<ControllerDeps> = {}) {
  const saved: Transcript[] = [];
  const audioOpened: string[] = [];
  const controller = new TranscriberController({
    speechBaseUrl: server.baseUrl,
    validate: validateContext,
    openAudio: async (_sink, options) => {
      audioOpened.push(options.source);
      throw new Error("local audio must not open for a call with a stream");
    },
    saveTranscript: async (t): Promise<SaveOutcome> => (saved.push(t), { appId: "notes-crm", status: "Created" }),
    ...overrides,
  });
  return { controller, saved, audioOpened };
}

function statusIn(c: TranscriberController, statuses: string[], timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`status stayed ${c.getSnapshot().status}, wanted ${statuses.join("|")}`))), timeoutMs);
    const check = () => statuses.includes(c.getSnapshot().status) && (clearTimeout(timer), off(), resolve());
    const off = c.subscribe(check);
    check();
  });
}

const inTurn = (channel: number, start: number, end: number, edge = 1) =>
  call.turns.some((t) => t.channel === channel && (start + end) / 2 >= t.start - edge && (start + end) / 2 <= t.end + edge);

describe("attaching to a live call by id (real server, hub and PocketSphinx)", () => {
  it("follows a call that starts after StartTranscription, names both parties, and saves the server's final transcript", async () => {
    const callId = `attach-${randomUUID()}`;
    const { controller: c, saved, audioOpened } = attachingController();
    const live: Transcript[] = [];
    c.onLiveTranscript((t) => live.push(t));
    // Another subscriber, to compare with what the server said at the end.
    let serverEnd: LiveCallEnded | undefined;
    const starting = c.start({ source: "call", callId, participants: [bob] });
    await sleep(700); // the call's stream begins after the transcriber asked (`?wait` covers it)
    const observer = openLiveCallConnection({ baseUrl: server.baseUrl, callId, waitSeconds: 5 }, { onMessage: () => undefined, onEnded: (e) => (serverEnd = e) });
    const fed = feedCall(callId, { speed: 2 });
    await starting;
    expect(c.getSnapshot()).toMatchObject({
      status: "listening",
      audioSource: "call-stream",
      callStream: "live",
      channels: [
        { channel: 0, name: "Alice Agent", role: "agent" },
        { channel: 1, name: "Bob Customer", role: "customer" },
      ],
    });
    expect((await fed).code).toBe(1000);
    await statusIn(c, ["saving", "saved"]); // CallEnded stopped the session by itself
    await statusIn(c, ["saved"]);
    serverEnd = await (await observer).waitForEnd(10_000);
    expect(audioOpened).toEqual([]);

    expect(saved).toHaveLength(1);
    const t = saved[0]!;
    expect(validateContext(t)).toMatchObject({ valid: true });
    expect(t.id.callId).toBe(callId);
    expect(serverEnd?.status).toBe("done");
    expect(t.text).toBe((serverEnd?.transcript as Transcript).text); // the server's transcript, not a rebuilt one
    expect(c.getSnapshot().callStream).toBe("ended");
    for (const ch of [0, 1]) {
      const mine = (t.segments ?? []).filter((s) => s.channel === ch);
      expect(mine.length, `channel ${ch} has segments`).toBeGreaterThan(0);
      expect(new Set(mine.map((s) => s.speaker))).toEqual(new Set([ch === 0 ? "Alice Agent" : "Bob Customer"]));
      expect(mine.filter((s) => !inTurn(ch, s.start, s.end)), `channel ${ch}: segments outside its turns`).toEqual([]);
    }
    // What the transcriber showed live matches the server's final transcript, party by party.
    // (Word accuracy per channel is the server's test, live-calls.test.ts: PocketSphinx at 8 kHz
    // hears these clips poorly, POST /v1/listen alike.)
    const byParty = (segs: readonly { channel?: number; speaker: string; text: string }[]) => segs.map((s) => `${s.channel}|${s.speaker}|${s.text}`);
    expect(byParty(c.getSnapshot().segments)).toEqual(byParty(t.segments ?? []));
    expect(wordErrorRate(call.references[0]!, (t.segments ?? []).filter((s) => s.channel === 0).map((s) => s.text).join(" ")).wer).toBeLessThan(1);
    // The softphone's private channel got both parties' lines while the call went on.
    const during = live.filter((x) => !x.timeRange?.endTime);
    expect(during.some((x) => (x.segments ?? []).some((s) => s.channel === 1 && s.speaker === "Bob Customer"))).toBe(true);
    expect(during.some((x) => (x.segments ?? []).some((s) => s.channel === 0 && s.speaker === "Alice Agent"))).toBe(true);
  }, 120_000);

  it("a stop at hang-up waits for the call's end and saves the server's transcript; without names, the customer is the call's contact", async () => {
    const callId = `hangup-${randomUUID()}`;
    const { controller: c, saved } = attachingController({ finishTimeoutSeconds: 60 });
    const fed = feedCall(callId, { seconds: 7, extra: [] });
    await c.start({ source: "call", callId, participants: [bob] });
    expect(c.getSnapshot().channels).toEqual([
      { channel: 0, name: "agent", role: "agent" },
      { channel: 1, name: "Bob Customer", role: "customer" },
    ]);
    await sleep(300);
    const stopping = c.stop(); // StopTranscription / fdc3.call ended, before the telephony side closed
    expect(c.getSnapshot().status).toBe("stopping");
    await fed;
    const t = await stopping;
    expect(saved.length === 0 || saved[0] === t).toBe(true);
    expect(t.id.callId).toBe(callId);
    expect((t.segments ?? []).length).toBeGreaterThan(0);
    expect(c.getSnapshot().notices.join("\n")).not.toMatch(/did not end within/);
  }, 120_000);

  it("a stream that drops mid-call: the UI says so, keeps the words, and saves them", async () => {
    const callId = `drop-${randomUUID()}`;
    const { controller: c, saved } = attachingController();
    const fed = feedCall(callId, { seconds: 10, drop: true, speed: 1 });
    await c.start({ source: "call", callId, participants: [bob] });
    await fed;
    await statusIn(c, ["saving", "saved"]); // finals of the first turn came before the drop
    const snap = c.getSnapshot();
    expect(snap.notices.join("\n")).toMatch(/the call's audio stream dropped \(.+\); the transcript so far is kept/);
    expect(snap.callStream).toBe("ended");
    expect(saved).toHaveLength(1);
    expect(saved[0]!.text.length).toBeGreaterThan(0);
  }, 120_000);

  it("no stream for the call within the wait: local capture, and the note says so", async () => {
    const c = new TranscriberController({
      speechBaseUrl: server.baseUrl,
      validate: validateContext,
      callStreamWaitSeconds: 1,
      openAudio: async () => ({ stop: async () => undefined }),
    });
    const t0 = Date.now();
    await c.start({ source: "call", callId: `none-${randomUUID()}`, participants: [] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // it waited for the call to start
    expect(c.getSnapshot()).toMatchObject({ status: "listening", audioSource: "microphone", audioNote: "no call audio stream from the telephony platform for this call; using the microphone" });
    await c.stop();
  }, 30_000);
});
