/** Webhook intake: the `recording-ready` route plugin and its body validator. */
export { intakePlugin, RECORDING_READY_PATH, type EnqueueRecording, type IntakePluginOptions } from "./route";
export { validateRecordingReady, RECORDING_READY_SCHEMA, type RecordingReadyCheck } from "./schema";
