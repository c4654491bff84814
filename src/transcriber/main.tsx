/**
 * Composition root of the transcriber app: the controller with the microphone (or a browser tab) and the speech
 * server (same origin, `/v1/listen`), the desktop agent and its intent handlers, and the React UI
 * (the live transcriber, and the Recordings panel of finished recorded calls from `/v1/calls`).
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { validateContext, type Transcript } from "../contracts";
import { openMicrophone } from "./audio/microphone";
import { openTabAudio } from "./audio/tab";
import { connectDesktopAgent } from "./fdc3/agent";
import { saveTranscriptAnywhere, wireTranscriber } from "./fdc3/wiring";
import { TranscriberController } from "./session/controller";
import { fetchModelChoices } from "./session/models";
import { requestServerToken } from "./session/server-token";
import { App } from "./ui/App";
import { RecordingsPanel } from "./ui/RecordingsPanel";
import { SaveChooser, SaveChooserStore } from "./ui/SaveChooser";

const speechBaseUrl = location.origin;
const agent = connectDesktopAgent();

const chooser = new SaveChooserStore();

/** Save a transcript (live transcripts and finished recordings alike): SaveTranscript or CreateInteraction, "Save to…" when both kinds of app exist. */
const saveTranscript = async (transcript: Transcript) => {
  const { agent: fdc3 } = await agent.catch((e: unknown) => {
    throw new Error(`no desktop agent to raise SaveTranscript: ${e instanceof Error ? e.message : String(e)}`);
  });
  return saveTranscriptAnywhere(fdc3, transcript, chooser.choose);
};

const controller = new TranscriberController({
  speechBaseUrl,
  // With an API key on the server, the desktop host hands out short-lived listen tokens.
  speechToken: () => requestServerToken(),
  validate: validateContext,
  // The microphone, or a browser tab (with the microphone as channel 1 when chosen).
  openAudio: (sink, { source }) => (source === "microphone" ? openMicrophone(sink) : openTabAudio({ ...sink, withMicrophone: source === "tab+microphone" })),
  saveTranscript,
});

const wired = agent.then(async ({ agent: fdc3, route }) => {
  await wireTranscriber(fdc3, controller);
  return { route };
});
wired.catch(() => undefined); // shown by the UI

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App controller={controller} agent={wired} models={requestServerToken().then((token) => fetchModelChoices(speechBaseUrl, fetch, token))} />
    <RecordingsPanel baseUrl={speechBaseUrl} save={saveTranscript} />
    <SaveChooser store={chooser} />
  </StrictMode>,
);
