/**
 * Callscribe's contracts, shared by the browser apps and the server: context types generated from
 * `contexts/*.schema.json`, their ajv validation, the intents we define and the App Directory records.
 */
export type { Call, Transcript, Segment as TranscriptSegment, Word as TranscriptWord, Contact, CallscribeContext } from "../../contexts/types";
export { validateContext, assertContext, ContextValidationError, knownContextTypes } from "./validate";
export type { ValidationResult, KnownContextType } from "./validate";
export { INTENTS, IntentName } from "./intents";
export type { IntentDefinition } from "./intents";
export { APP_DIRECTORY, resolveAppDirectory } from "./app-directory";
export type { AppDirectoryRecord } from "./app-directory";
export { interactionFromTranscript, truncateUtf8AtWord, CREATE_INTERACTION, INTERACTION_DESCRIPTION_MAX_BYTES, INTERACTION_ID_KEY } from "./interaction";
export type { Interaction, InteractionOptions } from "./interaction";
