/**
 * Composition root of the transcriber app: the controller with the microphone and the speech
 * server (same origin, `/v1/listen`), the desktop agent and its intent handlers, and the React UI.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { validateContext } from "../contracts";
import { openMicrophone } from "./audio/microphone";
import { connectDesktopAgent } from "./fdc3/agent";
import { saveTranscriptViaIntent, wireTranscriber } from "./fdc3/wiring";
import { TranscriberController } from "./session/controller";
import { fetchModelChoices } from "./session/models";
import { App } from "./ui/App";

const speechBaseUrl = location.origin;
const agent = connectDesktopAgent();

const controller = new TranscriberController({
  speechBaseUrl,
  validate: validateContext,
  openAudio: (sink) => openMicrophone(sink),
  saveTranscript: async (transcript) => {
    const { agent: fdc3 } = await agent.catch((e: unknown) => {
      throw new Error(`no desktop agent to raise SaveTranscript: ${e instanceof Error ? e.message : String(e)}`);
    });
    return saveTranscriptViaIntent(fdc3, transcript);
  },
});

const wired = agent.then(async ({ agent: fdc3, route }) => {
  await wireTranscriber(fdc3, controller);
  return { route };
});
wired.catch(() => undefined); // shown by the UI

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App controller={controller} agent={wired} models={fetchModelChoices(speechBaseUrl)} />
  </StrictMode>,
);
