/**
 * The Library's FDC3 listeners live as long as the page, not as long as a React mount: React's
 * StrictMode mounts, unmounts and mounts again, and a `ViewInteractions` that opened this window
 * can arrive in between (the desktop agent delivers it to the first listener added). Listeners
 * are added once per desktop agent and write into an inbox; the mounted UI attaches to it and
 * receives what arrived while nothing was attached, in order.
 */
import type { DesktopAgent } from "@finos/fdc3";
import { wireLibrary, type LibraryFdc3Events } from "./wiring";

type Delivery = (events: LibraryFdc3Events) => void;

/** Buffers deliveries while no UI is attached. */
export class Fdc3Inbox {
  private attached: LibraryFdc3Events | undefined;
  private pending: Delivery[] = [];
  /** At most this many deliveries wait for a UI (older ones go: only the latest contact matters). */
  static readonly MAX_PENDING = 16;

  /** The events {@link wireLibrary} calls. */
  readonly events: LibraryFdc3Events = {
    onContact: (filter, via) => this.deliver((e) => e.onContact(filter, via)),
    onTranscript: (transcriptId) => this.deliver((e) => e.onTranscript(transcriptId)),
    onRefused: (error, via) => this.deliver((e) => e.onRefused(error, via)),
  };

  private deliver(d: Delivery) {
    if (this.attached) return d(this.attached);
    this.pending.push(d);
    if (this.pending.length > Fdc3Inbox.MAX_PENDING) this.pending.shift();
  }

  /** Attach the UI: waiting deliveries are replayed now. @returns detach */
  attach(events: LibraryFdc3Events): () => void {
    this.attached = events;
    const waiting = this.pending;
    this.pending = [];
    for (const d of waiting) d(events);
    return () => {
      if (this.attached === events) this.attached = undefined;
    };
  }
}

const inboxes = new WeakMap<DesktopAgent, Promise<Fdc3Inbox>>();

/**
 * The page's inbox for `agent`, wiring the Library's listeners on first use.
 * @throws (rejects) when the desktop agent refuses a listener
 */
export function libraryInbox(agent: DesktopAgent): Promise<Fdc3Inbox> {
  let inbox = inboxes.get(agent);
  if (!inbox) {
    const box = new Fdc3Inbox();
    inbox = wireLibrary(agent, box.events).then(() => box);
    inbox.catch(() => inboxes.delete(agent));
    inboxes.set(agent, inbox);
  }
  return inbox;
}
