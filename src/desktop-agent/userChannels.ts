/**
 * The desktop agent's user channels ("colour channels"). Ids follow the FDC3 reference
 * desktop agent's `fdc3.channel.N` convention so apps written against it work unchanged.
 */
import { ChannelType, type ChannelState } from "@finos/fdc3-web-impl";

/** A user channel as the host UI shows it. */
export interface UserChannelInfo {
  id: string;
  name: string;
  color: string;
  glyph: string;
}

/** The channels offered, in selector order. */
export const USER_CHANNELS: readonly UserChannelInfo[] = [
  { id: "fdc3.channel.1", name: "Red", color: "#d32f2f", glyph: "1" },
  { id: "fdc3.channel.2", name: "Orange", color: "#ef6c00", glyph: "2" },
  { id: "fdc3.channel.3", name: "Yellow", color: "#f9a825", glyph: "3" },
  { id: "fdc3.channel.4", name: "Green", color: "#2e7d32", glyph: "4" },
  { id: "fdc3.channel.5", name: "Blue", color: "#1565c0", glyph: "5" },
  { id: "fdc3.channel.6", name: "Purple", color: "#6a1b9a", glyph: "6" },
];

/** The channel every app joins when it connects, until the user picks another. */
export const DEFAULT_USER_CHANNEL_ID = USER_CHANNELS[0]!.id;

/**
 * Fresh channel state for `DefaultFDC3Server` (it mutates the array: app and private channels
 * are appended, and each channel keeps its most recent context per type).
 */
export function initialChannelState(): ChannelState[] {
  return USER_CHANNELS.map((c) => ({
    id: c.id,
    type: ChannelType.user,
    context: [],
    displayMetadata: { name: c.name, color: c.color, glyph: c.glyph },
  }));
}
