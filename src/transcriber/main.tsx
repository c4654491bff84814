/**
 * Composition root of the transcriber app: the controller with the microphone (or a browser tab) and the speech
 * server (same origin, `/v1/listen`), the desktop agent and its intent handlers, the desktop port
 * (io.Connect Desktop's notifications, interop methods and window title; nothing extra elsewhere),
 * and the React UI (the live transcriber, and the Recordings panel of finished recorded calls from `/v1/calls`).
 * Each finished live call and dictation, and each CRM's answer to saving one, goes to the
 * transcript library through the outbox (`library/outbox.ts`).
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { validateContext, type Transcript } from "../contracts";
import { openMicrophone } from "./audio/microphone";
import { openTabAudio } from "./audio/tab";
import { openDesktop } from "./desktops/select";
import { notifyingSave, RecentTranscripts, wireDesktop } from "./desktops/wiring";
import { connectDesktopAgent } from "./fdc3/agent";
import { openTranscriptInLibrary, saveTranscriptAnywhere, wireTranscriber } from "./fdc3/wiring";
import { recordCrmSave } from "./library/crm-saves";
import { LibraryOutbox } from "./library/outbox";
import { TranscriberController } from "./session/controller";
import { fetchModelChoices } from "./session/models";
import { requestServerToken } from "./session/server-token";
import { App } from "./ui/App";
import { LibraryStatus } from "./ui/LibraryStatus";
import { RecordingsPanel } from "./ui/RecordingsPanel";
import { SaveChooser, SaveChooserStore } from "./ui/SaveChooser";

const speechBaseUrl = location.origin;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
// Inside io.Connect this starts @interopio/desktop, which its FDC3 library needs first.
const desktop = openDesktop();
const agent = connectDesktopAgent({ ioConnectReady: desktop });
// Writes to the library take the transcriber's listen token (POST /v1/transcripts and …/saves).
const libraryOutbox = LibraryOutbox.open({ target: { baseUrl: speechBaseUrl, token: () => requestServerToken() } });

const chooser = new SaveChooserStore();
// Transcripts the save notifications were about, for their "Open transcript" action.
const recentTranscripts = new RecentTranscripts();

/**
 * Save a transcript (live transcripts and finished recordings alike): SaveTranscript or the standard
 * CreateInteraction, with the "Save to…" chooser when both kinds of app exist; each outcome is a
 * desktop notification, and each CRM's answer goes to the library.
 */
const saveTranscript = notifyingSave(
  { notify: (n) => desktop.then((port) => port.notify(n), (e: unknown) => `no desktop notifications: ${errorText(e)}`) },
  async (transcript: Transcript) => {
    const { agent: fdc3 } = await agent.catch((e: unknown) => {
      throw new Error(`no desktop agent to raise SaveTranscript: ${errorText(e)}`);
    });
    return saveTranscriptAnywhere(fdc3, transcript, chooser.choose, (appId, result) => recordCrmSave(libraryOutbox, transcript, appId, result, (m) => controller.notice(m)));
  },
  (message) => controller.notice(message),
  recentTranscripts,
);

const controller = new TranscriberController({
  speechBaseUrl,
  // With an API key on the server, the desktop host hands out short-lived listen tokens.
  speechToken: () => requestServerToken(),
  validate: validateContext,
  // The microphone, or a browser tab (with the microphone as channel 1 when chosen).
  openAudio: (sink, { source }) => (source === "microphone" ? openMicrophone(sink) : openTabAudio({ ...sink, withMicrophone: source === "tab+microphone" })),
  saveTranscript,
});

// Each finished live call and dictation (a new, non-empty transcript in the snapshot) goes to the library.
let lastQueued: Transcript | undefined;
controller.subscribe(() => {
  const { transcript, transcriptEmpty } = controller.getSnapshot();
  if (!transcript || transcriptEmpty || transcript === lastQueued) return;
  lastQueued = transcript;
  libraryOutbox.then((o) => o.addTranscript(transcript)).catch((e: unknown) => controller.notice(`transcript not queued for the library: ${e instanceof Error ? e.message : String(e)}`));
});

const wired = agent.then(async ({ agent: fdc3, route }) => {
  await wireTranscriber(fdc3, controller);
  return { route };
});
wired.catch(() => undefined); // shown by the UI
const desktopWired = desktop.then(async (port) => {
  await wireDesktop(port, controller, {
    recent: recentTranscripts,
    // A transcript no longer on screen opens in the Library (FDC3 open with the context: any desktop).
    openInLibrary: async (t) => {
      const { agent: fdc3 } = await agent;
      await openTranscriptInLibrary(fdc3, t);
    },
  });
  return { name: port.name, features: port.features };
});
desktopWired.catch(() => undefined); // shown by the UI

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App controller={controller} agent={wired} desktop={desktopWired} models={requestServerToken().then((token) => fetchModelChoices(speechBaseUrl, fetch, token))} />
    <LibraryStatus outbox={libraryOutbox} />
    <RecordingsPanel baseUrl={speechBaseUrl} save={saveTranscript} token={() => requestServerToken(window, 5_000, "library")} />
    <SaveChooser store={chooser} />
  </StrictMode>,
);
