/** Display formatting for the transcriber UI (pure, unit-tested). */
import type { AudioSource, CallStreamState, ChannelParty, SaveState } from "../session/controller";
import type { ProviderInfo } from "../session/transcript-builder";

/** Seconds from the start of the audio as `m:ss.s`, e.g. 62.34 → `1:02.3`. Negative or NaN → `0:00.0`. */
export function formatSeconds(seconds: number): string {
  const s = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
  const tenths = Math.round(s * 10);
  const minutes = Math.floor(tenths / 600);
  const rest = (tenths - minutes * 600) / 10;
  return `${minutes}:${rest.toFixed(1).padStart(4, "0")}`;
}

/** Confidence in [0, 1] as a whole percentage, e.g. 0.834 → `83%`. */
export function formatConfidence(confidence: number): string {
  return `${Math.round(Math.min(1, Math.max(0, confidence)) * 100)}%`;
}

/** The `engine` text: the engine that answered, else the model asked for, else the server default. */
export function engineText(provider: ProviderInfo | undefined, requestedModel: string | undefined): string {
  if (provider) return provider.model && provider.model !== provider.name ? `${provider.name} · ${provider.model}` : provider.name;
  return requestedModel ?? "server default";
}

/**
 * The `save-result` text: `<app title>: <status>` once saved (the app id when the title is
 * unknown), `saving…`, why it was not saved, or `error: <message>`.
 */
export function saveResultText(save: SaveState | undefined): string {
  if (!save) return "";
  if (save.state === "saving") return "saving…";
  if (save.state === "saved") return `${save.appTitle ?? save.appId}: ${save.status}`;
  if (save.state === "not-saved") {
    return save.reason === "cancelled" ? "not saved — you closed the picker" : "nothing was said, so there is nothing to save";
  }
  return `error: ${save.error}`;
}

/** Labels of the capture choices and of a live call's own stream. */
export const AUDIO_SOURCE_LABELS: Record<AudioSource, string> = {
  microphone: "Microphone",
  tab: "Browser tab",
  "tab+microphone": "Tab + microphone",
  "call-stream": "Call audio (telephony)",
};

/** A transcript line's party: `Alice Agent (agent)`; the name alone without a role, or when the name is the role. */
export function partyText(speaker: string, channel: number | undefined, parties: readonly ChannelParty[] | undefined): string {
  const role = parties?.find((p) => p.channel === channel)?.role;
  return role && role.toLowerCase() !== speaker.toLowerCase() ? `${speaker} (${role})` : speaker;
}

/** The `call-stream` text: how the call's own stream stands. */
export function callStreamText(state: CallStreamState): string {
  switch (state) {
    case "live":
      return "call audio: live";
    case "reconnecting":
      return "call audio: reconnecting…";
    case "interrupted":
      return "call audio: the stream dropped; the transcript so far is kept";
    case "ended":
      return "call audio: the call ended";
    case "lost":
      return "call audio: lost; the transcript so far is kept";
  }
}
