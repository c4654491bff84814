/**
 * The intents Callscribe defines (`intents/*.json`), as data and as name constants, so apps never
 * spell an intent name by hand.
 */
import startTranscription from "../../intents/StartTranscription.json" with { type: "json" };
import stopTranscription from "../../intents/StopTranscription.json" with { type: "json" };
import saveTranscript from "../../intents/SaveTranscript.json" with { type: "json" };

/** One intent definition: name, display name, accepted context types, FDC3 resultType. */
export interface IntentDefinition {
  name: string;
  displayName: string;
  description?: string;
  contexts: string[];
  resultType: string;
}

/** Every intent we define, by name. */
export const INTENTS = {
  StartTranscription: startTranscription,
  StopTranscription: stopTranscription,
  SaveTranscript: saveTranscript,
} as const satisfies Record<string, IntentDefinition>;

/** Intent names, e.g. `IntentName.SaveTranscript === "SaveTranscript"`. */
export const IntentName = {
  StartTranscription: "StartTranscription",
  StopTranscription: "StopTranscription",
  SaveTranscript: "SaveTranscript",
} as const;
