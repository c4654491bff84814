/**
 * Demo softphone: dial a contact (or take a simulated inbound call); every state change
 * (ringing → connected → ended) is broadcast on the current user channel as `fdc3.call`, with
 * the `fdc3.contact` first. "Transcribe" raises `StartTranscription` with the `fdc3.call` and
 * shows the live `fdc3.transcript` updates from the private channel the transcriber returns.
 * "Hang up" broadcasts the `ended` call and raises `StopTranscription` at the same transcriber.
 *
 * The call's audio: when a call connects, the softphone asks the server's demo PBX to stream it
 * (`demoPbx.ts`): a two-party call over AudioHook under the call's id, which the transcriber
 * attaches to; the softphone says whether that works and, if not, why (then the transcriber
 * listens to the microphone). "Transcribe" waits for the PBX's answer, so the live call exists
 * when StartTranscription is raised; "Hang up" stops the PBX's stream first.
 * A live transcript whose segments carry channels (a two-party call) is shown line by line
 * with each party's name.
 */
import { useEffect, useRef, useState } from "react";
import type { AppIdentifier, Channel, DesktopAgent, Listener, PrivateChannel } from "@finos/fdc3";
import { IntentName, validateContext } from "../../contracts";
import { errorText, useFdc3 } from "../shared/useFdc3";
import { callContext, contactContext, type PhoneCall } from "./callContext";
import { DEMO_CONTACTS, type DemoContact } from "./contacts";
import { demoStreamActive, startDemoStream, stopDemoStream, type PbxState } from "./demoPbx";

/** How long an outbound call rings before the (simulated) other side answers (ms). */
const RING_MS = 1_500;
/** How often the softphone asks whether the demo PBX still streams the call (ms). */
const PBX_POLL_MS = 2_000;

type Transcription =
  | { status: "idle" }
  | { status: "starting" }
  | { status: "running"; by: AppIdentifier }
  | { status: "stopping"; by: AppIdentifier }
  | { status: "stopped"; by: AppIdentifier; finalText?: string };

function isPrivateChannel(x: unknown): x is PrivateChannel {
  return typeof x === "object" && x !== null && (x as Channel).type === "private";
}

/** What the softphone shows of a live transcript: "Name: text" lines when the segments have channels (both parties), else the text. */
function liveText(t: { text?: unknown; segments?: { speaker: string; channel?: number; text: string }[] }): string {
  const segments = t.segments ?? [];
  if (segments.length > 0 && segments.some((s) => s.channel !== undefined)) return segments.map((s) => `${s.speaker}: ${s.text}`).join("\n");
  return String(t.text ?? "");
}

/** The demo softphone app: places calls and starts / stops their transcription over FDC3. */
export function Softphone() {
  const conn = useFdc3();
  const agent = conn.status === "connected" ? conn.agent : undefined;
  const [contact, setContact] = useState<DemoContact>(DEMO_CONTACTS[0]!);
  const [call, setCall] = useState<PhoneCall | null>(null);
  const [transcription, setTranscription] = useState<Transcription>({ status: "idle" });
  const [live, setLive] = useState("");
  const [error, setError] = useState<string | null>(null);
  const liveListener = useRef<Listener | null>(null);
  const ringTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [pbx, setPbx] = useState<PbxState>({ status: "idle" });
  /** The pending PBX request of the current call (Transcribe waits for it). */
  const pbxStart = useRef<Promise<PbxState> | null>(null);

  useEffect(() => () => clearTimeout(ringTimer.current), []);

  // While the PBX streams, notice when the call audio is over (the PBX closed the stream).
  const streamingCallId = pbx.status === "streaming" ? call?.callId : undefined;
  useEffect(() => {
    if (!streamingCallId) return;
    const timer = setInterval(() => {
      void demoStreamActive(location.origin, streamingCallId).then((active) => {
        if (!active) setPbx((p) => (p.status === "streaming" ? { status: "stopped", message: "Demo PBX: the call audio ended" } : p));
      });
    }, PBX_POLL_MS);
    return () => clearInterval(timer);
  }, [streamingCallId]);

  /** Broadcast the call (and, when it starts ringing, the contact) on the user channel. */
  async function publish(fdc3: DesktopAgent, next: PhoneCall, withContact: boolean): Promise<void> {
    setCall(next);
    try {
      if (withContact) await fdc3.broadcast(contactContext(next.contact));
      await fdc3.broadcast(callContext(next));
    } catch (e) {
      setError(`broadcast of the ${next.state} call failed: ${errorText(e)}`);
    }
  }

  /** The call connected: ask the demo PBX to stream it. */
  function connected(next: PhoneCall): void {
    setPbx({ status: "starting" });
    const started = startDemoStream(location.origin, next);
    pbxStart.current = started;
    void started.then((state) => {
      if (pbxStart.current === started) setPbx(state);
    });
  }

  function dial(): void {
    if (!agent) return;
    setError(null);
    setLive("");
    setTranscription({ status: "idle" });
    setPbx({ status: "idle" });
    const ringing: PhoneCall = { callId: crypto.randomUUID(), direction: "outbound", state: "ringing", contact };
    void publish(agent, ringing, true);
    ringTimer.current = setTimeout(() => {
      const next: PhoneCall = { ...ringing, state: "connected", startTime: new Date().toISOString() };
      void publish(agent, next, false);
      connected(next);
    }, RING_MS);
  }

  function simulateInbound(): void {
    if (!agent) return;
    setError(null);
    setLive("");
    setTranscription({ status: "idle" });
    setPbx({ status: "idle" });
    void publish(agent, { callId: crypto.randomUUID(), direction: "inbound", state: "ringing", contact }, true);
  }

  function answer(): void {
    if (!agent || !call) return;
    const next: PhoneCall = { ...call, state: "connected", startTime: new Date().toISOString() };
    void publish(agent, next, false);
    connected(next);
  }

  async function transcribe(): Promise<void> {
    if (!agent || !call || call.state !== "connected") return;
    setError(null);
    setTranscription({ status: "starting" });
    // The live call exists once the PBX answered (or the PBX said why not: then the microphone).
    await pbxStart.current;
    try {
      const resolution = await agent.raiseIntent(IntentName.StartTranscription, callContext(call));
      setTranscription({ status: "running", by: resolution.source });
      const result = await resolution.getResult();
      if (isPrivateChannel(result)) {
        liveListener.current = await result.addContextListener("fdc3.transcript", (ctx) => {
          const checked = validateContext(ctx);
          if (checked.valid) setLive(liveText(ctx as { text?: unknown; segments?: { speaker: string; channel?: number; text: string }[] }));
          else setError(`the transcriber sent an invalid live transcript: ${checked.error}`);
        });
      }
    } catch (e) {
      setTranscription({ status: "idle" });
      setError(`StartTranscription failed: ${errorText(e)}`);
    }
  }

  async function hangUp(): Promise<void> {
    if (!agent || !call) return;
    clearTimeout(ringTimer.current);
    // Hang up the PBX's stream first (its close ends the live call), then tell the desktop.
    const pending = pbxStart.current;
    pbxStart.current = null;
    const pbxStopped = pending
      ? pending.then((state) => (state.status === "streaming" ? stopDemoStream(location.origin, call.callId) : state)).then(setPbx)
      : Promise.resolve();
    const ended: PhoneCall = { ...call, state: "ended", endTime: new Date().toISOString() };
    await publish(agent, ended, false);
    if (transcription.status !== "running") {
      await pbxStopped;
      return;
    }
    const by = transcription.by;
    setTranscription({ status: "stopping", by });
    try {
      // Sent to the instance that started it, so no resolver is needed.
      const resolution = await agent.raiseIntent(IntentName.StopTranscription, callContext(ended), by);
      const result = await resolution.getResult();
      const checked = result && !isPrivateChannel(result) ? validateContext(result) : null;
      if (checked && !checked.valid) setError(`StopTranscription returned an invalid transcript: ${checked.error}`);
      const finalText = checked?.valid ? String((result as { text?: unknown }).text ?? "") : undefined;
      setTranscription({ status: "stopped", by, finalText });
    } catch (e) {
      setTranscription({ status: "stopped", by });
      setError(`StopTranscription failed: ${errorText(e)}`);
    } finally {
      void liveListener.current?.unsubscribe()?.catch(() => undefined); // the channel may already be gone
      liveListener.current = null;
      await pbxStopped;
    }
  }

  const inCall = call !== null && call.state !== "ended";
  return (
    <div className="app">
      <h1>Demo Softphone</h1>
      <div className={`status ${conn.status}`} data-testid="fdc3-status">
        {conn.status === "failed" ? conn.error : conn.status}
      </div>
      <div className="row">
        <label>
          Contact{" "}
          <select
            data-testid="contact-select"
            value={contact.email}
            disabled={inCall}
            onChange={(e) => setContact(DEMO_CONTACTS.find((c) => c.email === e.target.value) ?? DEMO_CONTACTS[0]!)}
          >
            {DEMO_CONTACTS.map((c) => (
              <option key={c.email} value={c.email}>
                {c.name} ({c.phoneNumber})
              </option>
            ))}
          </select>
        </label>
        <button className="primary" data-testid="dial" disabled={!agent || inCall} onClick={dial}>
          Dial
        </button>
        <button data-testid="simulate-inbound" disabled={!agent || inCall} onClick={simulateInbound}>
          Simulate inbound call
        </button>
      </div>
      {call && (
        <div className="card">
          <div className="row">
            <span>
              {call.direction === "inbound" ? "From" : "To"} {call.contact.name}
            </span>
            <span className={`pill ${call.state}`} data-testid="call-state">
              {call.state}
            </span>
            <span className="muted" data-testid="call-id">
              {call.callId}
            </span>
          </div>
          <div className="row" style={{ marginTop: "0.5rem" }}>
            {call.state === "ringing" && call.direction === "inbound" && (
              <button className="primary" data-testid="answer" onClick={answer}>
                Answer
              </button>
            )}
            <button
              data-testid="transcribe"
              disabled={call.state !== "connected" || transcription.status !== "idle"}
              onClick={() => void transcribe()}
            >
              Transcribe
            </button>
            <button className="danger" data-testid="hangup" disabled={!inCall} onClick={() => void hangUp()}>
              Hang up
            </button>
          </div>
        </div>
      )}
      {pbx.status !== "idle" && (
        <div className={pbx.status === "unavailable" ? "muted warning" : "muted"} data-testid="pbx-status" data-status={pbx.status} title={pbx.status === "unavailable" ? pbx.detail : undefined}>
          {pbx.status === "starting" ? "Asking the demo PBX to stream the call…" : pbx.message}
          {pbx.status === "unavailable" && pbx.detail && (
            <div className="muted" data-testid="pbx-detail">
              {pbx.detail}
            </div>
          )}
        </div>
      )}
      <div className="muted" data-testid="transcription-status">
        {transcription.status === "idle" && "Not transcribing"}
        {transcription.status === "starting" && "Asking for a transcriber…"}
        {transcription.status === "running" && `Transcribing (${transcription.by.appId})`}
        {transcription.status === "stopping" && "Stopping transcription…"}
        {transcription.status === "stopped" && `Transcription stopped (${transcription.by.appId})`}
      </div>
      {live && (
        <div className="card" data-testid="live-transcript" style={{ whiteSpace: "pre-line" }}>
          {live}
        </div>
      )}
      {error && (
        <div className="error" role="alert" data-testid="softphone-error">
          {error}
        </div>
      )}
    </div>
  );
}
