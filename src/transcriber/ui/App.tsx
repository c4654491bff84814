/**
 * The transcriber's window: status, engine, the Dictate / Stop buttons, the live interim text,
 * the final text and its segments (speaker, time, confidence), and the SaveTranscript outcome.
 *
 * The transcript is shown once: the final text with the interim hypothesis after it (greyed), or,
 * when the session has named channels, its lines by party (the final text is then hidden);
 * each segment's speaker, times and confidence sit in a collapsed "Segments" list below.
 *
 * `data-testid`s the end-to-end test relies on: `status`, `engine`, `interim`,
 * `final-transcript` (plain final text only), `save-result` (`data-status`: the transaction
 * status, `error`, or `cancelled` / `nothing-said` when not saved); also `engine-picker`, `language-picker`, `dictate`,
 * `stop`, `save`, `segments`/`segment`, `call`, `desktop-agent` (`FDC3: web-connection` once
 * connected), `desktop` (`data-desktop`: the desktop port, e.g. io.Connect Desktop, and what it adds), `error`, `notices`; `connection-mode` (relay | direct, shown for Deepgram models
 * only) and `use-relay` (offered when direct mode failed); `audio-source-picker` (microphone,
 * browser tab, tab + microphone), `audio-source` (`data-source`: where the session's audio comes
 * from, with the reason, e.g. a call without its own stream), `call-stream` (`data-state`), and
 * `lines`/`line` (`data-channel`): the final segments by party, "Alice Agent (agent): …", shown
 * when the session has named channels (a live call's stream, or a tab with the microphone).
 */
import { useEffect, useState, useSyncExternalStore } from "react";
import type { TranscriberController } from "../session/controller";
import { CAPTURE_SOURCES, type CaptureSource } from "../session/controller";
import { CONNECTION_MODES } from "../session/direct-grant";
import { isDeepgramChoice, languagesOf, type ModelChoice } from "../session/models";
import { AUDIO_SOURCE_LABELS, callStreamText, engineText, formatConfidence, formatSeconds, partyText, saveResultText } from "./format";

/** How the page's desktop-agent connection stands. */
export type AgentState = { state: "connecting" } | { state: "connected"; route: string } | { state: "failed"; error: string };

/** Props of {@link App}: the session controller plus the two start-up promises it renders. */
export interface AppProps {
  controller: TranscriberController;
  /** Resolves with the route once connected and wired; rejects with the reason. */
  agent: Promise<{ route: string }>;
  /** Engine picker choices (first: server default). */
  models: Promise<{ choices: ModelChoice[]; error?: string }>;
  /** The desktop port once wired (`../desktops/`): its name and what it adds beyond FDC3; rejects with the reason. */
  desktop?: Promise<{ name: string; features: readonly string[] }>;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The transcriber's root component (see the module comment for its `data-testid`s). */
export function App({ controller, agent, models, desktop }: AppProps) {
  const snap = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  // Lines by party replace the plain final text when the session has named channels (a live call, tab + microphone).
  const showLines = Boolean(snap.channels) && snap.segments.length > 0;
  const [agentState, setAgentState] = useState<AgentState>({ state: "connecting" });
  const [choices, setChoices] = useState<ModelChoice[]>([{ label: "server default" }]);
  const [desktopState, setDesktopState] = useState<{ name: string; features: readonly string[] } | { error: string } | undefined>();

  useEffect(() => {
    let live = true;
    agent.then(
      ({ route }) => live && setAgentState({ state: "connected", route }),
      (e: unknown) => live && setAgentState({ state: "failed", error: errorText(e) }),
    );
    desktop?.then(
      (d) => live && setDesktopState(d),
      (e: unknown) => live && setDesktopState({ error: errorText(e) }),
    );
    models.then(({ choices: list, error }) => {
      if (!live) return;
      setChoices(list);
      if (error) controller.notice(`engine list unavailable (${error}); using the server default`);
    });
    return () => {
      live = false;
    };
  }, [agent, models, controller, desktop]);

  const busy = snap.status === "starting" || snap.status === "stopping";
  const listening = snap.status === "listening";
  const canStart = !controller.active;
  const request = snap.request;
  const save = snap.save;
  const selectedChoice = choices.find((c) => (c.model ?? "") === (snap.selectedModel ?? ""));
  const languages = languagesOf(selectedChoice);
  const deepgram = isDeepgramChoice(selectedChoice);

  const dictate = () => {
    controller.start({ source: "dictation", participants: [] }).catch(() => undefined); // shown via snapshot.error
  };
  const stop = () => {
    controller.stop().catch((e: unknown) => controller.notice(`stop failed: ${errorText(e)}`));
  };

  return (
    <main className="transcriber">
      <header>
        <h1>Callscribe transcriber</h1>
        <span className={`status status-${snap.status}`} data-testid="status">
          {snap.status}
        </span>
        <span className={`agent agent-${agentState.state}`} data-testid="desktop-agent" title="FDC3 desktop agent">
          {agentState.state === "connected" ? `FDC3: ${agentState.route}` : agentState.state === "failed" ? `no desktop agent: ${agentState.error}` : "FDC3: connecting…"}
        </span>
        {desktopState && ("error" in desktopState || desktopState.features.length > 0) && (
          <span className="desktop" data-testid="desktop" data-desktop={"error" in desktopState ? "error" : desktopState.name} title="what this desktop adds beyond FDC3">
            {"error" in desktopState ? desktopState.error : `${desktopState.name}: ${desktopState.features.join(", ")}`}
          </span>
        )}
      </header>

      <section className="controls">
        <label>
          Engine{" "}
          <select
            data-testid="engine-picker"
            value={snap.selectedModel ?? ""}
            disabled={!canStart}
            onChange={(e) => {
              controller.selectModel(e.target.value || undefined);
              const nextChoice = choices.find((c) => (c.model ?? "") === e.target.value);
              // Direct mode exists for Deepgram's cloud only.
              if (!isDeepgramChoice(nextChoice) && snap.selectedConnection !== "relay") controller.selectConnection("relay");
              // Keep the language only if the new model accepts it.
              const next = languagesOf(nextChoice);
              if (!next.includes(snap.selectedLanguage.split("-")[0]!.toLowerCase())) controller.selectLanguage(next[0]);
            }}
          >
            {choices.map((c) => (
              <option key={c.model ?? ""} value={c.model ?? ""}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        {deepgram && (
          <label title="relay: through the Callscribe server; direct: the browser talks to Deepgram with a short-lived token">
            Connection{" "}
            <select
              data-testid="connection-mode"
              value={snap.selectedConnection}
              disabled={!canStart}
              onChange={(e) => controller.selectConnection(e.target.value === "direct" ? "direct" : "relay")}
            >
              {CONNECTION_MODES.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Language{" "}
          <select
            data-testid="language-picker"
            value={snap.selectedLanguage}
            disabled={!canStart}
            onChange={(e) => controller.selectLanguage(e.target.value)}
          >
            {(languages.includes(snap.selectedLanguage) ? languages : [snap.selectedLanguage, ...languages]).map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label title="what a dictation, or a call without its own audio stream, captures">
          Audio{" "}
          <select
            data-testid="audio-source-picker"
            value={snap.selectedCapture}
            disabled={!canStart}
            onChange={(e) => controller.selectCapture(e.target.value as CaptureSource)}
          >
            {CAPTURE_SOURCES.map((s) => (
              <option key={s} value={s}>
                {AUDIO_SOURCE_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
        <span className="engine" data-testid="engine" title="speech engine">
          {engineText(snap.provider, snap.model ?? snap.selectedModel)}
        </span>
        <button type="button" data-testid="dictate" onClick={dictate} disabled={!canStart}>
          Dictate
        </button>
        <button type="button" data-testid="stop" onClick={stop} disabled={!listening}>
          Stop
        </button>
        {snap.transcript && !snap.transcriptEmpty && (snap.status === "error" || snap.status === "saved" || (snap.status === "stopped" && save?.state === "not-saved")) && (
          <button type="button" data-testid="save" onClick={() => void controller.save()}>
            {save?.state === "saved" ? "Save again" : "Save to CRM…"}
          </button>
        )}
      </section>

      <section className="subject" data-testid="call">
        {request ? (request.source === "call" ? `Call ${request.callId ?? "(no id)"}` : "Dictation") : "No session"}
        {snap.participants.length > 0 && <> with {snap.participants.map((c) => c.name ?? c.id?.email ?? "unknown").join(", ")}</>}
        {busy && <span className="spinner" aria-label="working" />}
      </section>

      {snap.audioSource && (
        <p className="audio-source" data-testid="audio-source" data-source={snap.audioSource}>
          Audio: {AUDIO_SOURCE_LABELS[snap.audioSource]}
          {snap.channels && snap.channels.length > 1 && <> — channels {snap.channels.map((p) => partyText(p.name, p.channel, snap.channels)).join(", ")}</>}
          {snap.audioNote && <span className="audio-note"> ({snap.audioNote})</span>}
          {snap.callStream && (
            <span className={`call-stream call-stream-${snap.callStream}`} data-testid="call-stream" data-state={snap.callStream}>
              {" "}
              · {callStreamText(snap.callStream)}
            </span>
          )}
        </p>
      )}

      {snap.error && (
        <p className="error" role="alert" data-testid="error">
          {snap.error}
        </p>
      )}
      {snap.error && snap.offerRelay && snap.selectedConnection === "direct" && (
        <p className="offer-relay">
          <button type="button" data-testid="use-relay" onClick={() => controller.selectConnection("relay")} disabled={!canStart}>
            Use relay through the Callscribe server
          </button>
        </p>
      )}

      <section className="live">
        <h2>Transcript</h2>
        {showLines && (
          <ol className="lines" data-testid="lines">
            {snap.segments.map((s, i) => (
              <li key={i} data-testid="line" data-channel={s.channel} className={`line channel-${s.channel ?? 0}`}>
                <span className="party">{partyText(s.speaker, s.channel, snap.channels)}</span>: <span className="line-text">{s.text}</span>
              </li>
            ))}
          </ol>
        )}
        <p className="transcript-text">
          {/* With lines by party the final text is not shown a second time (it stays for tests and screen readers that ask). */}
          <span className="final" data-testid="final-transcript" hidden={showLines}>
            {snap.finalText}
          </span>
          {snap.finalText && snap.interim && " "}
          <span className="interim" data-testid="interim" title="not final yet">
            {snap.interim}
          </span>
        </p>
        {snap.status === "stopping" && (
          <p className="finishing" data-testid="finishing">
            finishing the last words…
          </p>
        )}
      </section>

      {snap.segments.length > 0 && (
        <details className="segments">
          <summary>Segments ({snap.segments.length}): speaker, time, confidence</summary>
          <ol data-testid="segments">
            {snap.segments.map((s, i) => (
              <li key={i} data-testid="segment">
                <span className="speaker">{s.speaker}</span>{" "}
                <span className="time">
                  {formatSeconds(s.start)}–{formatSeconds(s.end)}
                </span>{" "}
                <span className="confidence" title="confidence">
                  {formatConfidence(s.confidence)}
                </span>{" "}
                <span className="words">{s.words?.length ?? s.text.split(/\s+/).length} words</span>
              </li>
            ))}
          </ol>
        </details>
      )}

      <section className="save">
        <h2>Saved to CRM</h2>
        <p
          className={`save-result save-${save?.state ?? "none"}`}
          data-testid="save-result"
          data-app-id={save?.state === "saved" ? save.appId : undefined}
          data-intent={save?.state === "saved" ? save.intent : undefined}
          data-status={save?.state === "saved" ? save.status : save?.state === "failed" ? "error" : save?.state === "not-saved" ? save.reason : undefined}
        >
          {saveResultText(save)}
        </p>
        {save?.state === "saved" && save.message && <p className="save-message">{save.message}</p>}
      </section>

      {snap.notices.length > 0 && (
        <ul className="notices" data-testid="notices">
          {snap.notices.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </main>
  );
}
