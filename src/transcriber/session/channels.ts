/**
 * Who is on which audio channel of a session, for the transcript's `speaker` and the UI's lines
 * ("Alice Agent (agent): …").
 *
 * - A live call (issue 8 §2): the server's `CallStarted` names each channel (`speakers`, `roles`;
 *   channel 0 = agent, 1 = customer, the recorded-call convention); where it has no name (empty,
 *   or only the role), the customer is the call context's first participant.
 * - Local capture (§3): the microphone alone is one channel; a browser tab is "Webcast", and with
 *   the microphone as well, channel 1 is "You".
 */
import type { Contact } from "../../../contexts/types";
import type { LiveCallInfo } from "./call-stream";

/** Where the audio of a session comes from that the browser captures itself. */
export type CaptureSource = "microphone" | "tab" | "tab+microphone";

/** Where a session's audio comes from: a local capture, or the call's own stream on the server. */
export type AudioSource = CaptureSource | "call-stream";

/** The capture choices, default first. */
export const CAPTURE_SOURCES: readonly CaptureSource[] = ["microphone", "tab", "tab+microphone"];

/** One channel's party. */
export interface ChannelParty {
  channel: number;
  /** Shown and used as the segments' `speaker`, e.g. `Alice Agent`, `Webcast`. */
  name: string;
  /** e.g. `agent`, `customer`; absent for local capture. */
  role?: string;
}

/** Interleaved channels a capture source delivers: 2 for tab + microphone, else 1. */
export function captureChannels(source: CaptureSource): number {
  return source === "tab+microphone" ? 2 : 1;
}

/** Labels of a capture's channels: the tab is "Webcast", the microphone next to it "You". */
export function captureParties(source: CaptureSource): ChannelParty[] | undefined {
  if (source === "tab") return [{ channel: 0, name: "Webcast" }];
  if (source === "tab+microphone") return [{ channel: 0, name: "Webcast" }, { channel: 1, name: "You" }];
  return undefined; // the microphone alone: the session's usual single speaker
}

const DEFAULT_ROLES = ["agent", "customer"];

/**
 * The parties of a live call's channels.
 * @param call the server's `CallStarted` / `CallUpdated` summary
 * @param participants the call context's contacts (the softphone's `fdc3.call`: the remote party)
 */
export function partiesFromCall(call: Pick<LiveCallInfo, "speakers" | "roles">, participants: readonly Contact[]): ChannelParty[] {
  const count = Math.max(call.speakers.length, call.roles.length, 2);
  const customerName = participants.find((c) => c.name?.trim())?.name?.trim();
  const parties: ChannelParty[] = [];
  for (let channel = 0; channel < count; channel++) {
    const role = call.roles[channel]?.trim() || DEFAULT_ROLES[channel];
    const given = call.speakers[channel]?.trim();
    const known = given && given.toLowerCase() !== role?.toLowerCase() ? given : undefined;
    const name = known ?? (role === "customer" ? customerName : undefined) ?? role ?? `speaker ${channel + 1}`;
    parties.push({ channel, name, ...(role && { role }) });
  }
  return parties;
}
