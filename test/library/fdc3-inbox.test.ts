/** The Library's FDC3 inbox: a contact that arrives while no UI is mounted (StrictMode's remount, a window still rendering) is kept for the next UI. */
import { describe, expect, it } from "vitest";
import { Fdc3Inbox } from "../../src/library/fdc3/inbox";

const filter = (p: string) => ({ participant: p, label: p });

describe("Fdc3Inbox", () => {
  it("replays what arrived before a UI attached, in order, then delivers directly", () => {
    const box = new Fdc3Inbox();
    box.events.onContact(filter("a@example.com"), "intent");
    box.events.onRefused("bad", "channel");
    box.events.onTranscript("t-42");
    const seen: string[] = [];
    const ui = { onContact: (f: { participant: string }, via: string) => seen.push(`${via}:${f.participant}`), onTranscript: (id: string) => seen.push(`open ${id}`), onRefused: (e: string, via: string) => seen.push(`${via}!${e}`) };
    const detach = box.attach(ui);
    expect(seen).toEqual(["intent:a@example.com", "channel!bad", "open t-42"]);
    box.events.onContact(filter("b@example.com"), "channel");
    expect(seen).toEqual(["intent:a@example.com", "channel!bad", "open t-42", "channel:b@example.com"]);
    detach();
    box.events.onContact(filter("c@example.com"), "intent");
    expect(seen).toHaveLength(4);
    // A detached UI's successor gets it (StrictMode: mount, unmount, mount).
    const later: string[] = [];
    box.attach({ onContact: (f) => later.push(f.participant), onTranscript: () => undefined, onRefused: () => undefined });
    expect(later).toEqual(["c@example.com"]);
  });

  it("keeps at most MAX_PENDING deliveries while nothing is attached (the newest)", () => {
    const box = new Fdc3Inbox();
    for (let i = 0; i < Fdc3Inbox.MAX_PENDING + 5; i++) box.events.onContact(filter(`p${i}@example.com`), "channel");
    const got: string[] = [];
    box.attach({ onContact: (f) => got.push(f.participant), onTranscript: () => undefined, onRefused: () => undefined });
    expect(got).toHaveLength(Fdc3Inbox.MAX_PENDING);
    expect(got.at(-1)).toBe(`p${Fdc3Inbox.MAX_PENDING + 4}@example.com`);
    expect(got[0]).toBe("p5@example.com");
  });
});
