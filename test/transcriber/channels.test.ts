/** Who is on which channel (`channels.ts`) and how a line names them (`partyText`). */
import { describe, expect, it } from "vitest";
import { captureChannels, captureParties, partiesFromCall } from "../../src/transcriber/session/channels";
import { partyText } from "../../src/transcriber/ui/format";

const jane = { type: "fdc3.contact" as const, name: "Jane Doe", id: { email: "jane@example.com" } };

describe("partiesFromCall", () => {
  it("takes the server's names and roles per channel", () => {
    expect(partiesFromCall({ speakers: ["Alice Agent", "Bob Customer"], roles: ["agent", "customer"] }, [jane])).toEqual([
      { channel: 0, name: "Alice Agent", role: "agent" },
      { channel: 1, name: "Bob Customer", role: "customer" },
    ]);
  });

  it("names the customer after the call context's participant when the server knows only the role", () => {
    expect(partiesFromCall({ speakers: ["agent", ""], roles: ["agent", "customer"] }, [jane])).toEqual([
      { channel: 0, name: "agent", role: "agent" },
      { channel: 1, name: "Jane Doe", role: "customer" },
    ]);
    expect(partiesFromCall({ speakers: [], roles: [] }, [])).toEqual([
      { channel: 0, name: "agent", role: "agent" },
      { channel: 1, name: "customer", role: "customer" },
    ]);
  });
});

describe("capture channels", () => {
  it("is one channel for the microphone or a tab, two for both, labelled Webcast and You", () => {
    expect(captureChannels("microphone")).toBe(1);
    expect(captureChannels("tab")).toBe(1);
    expect(captureChannels("tab+microphone")).toBe(2);
    expect(captureParties("microphone")).toBeUndefined();
    expect(captureParties("tab")).toEqual([{ channel: 0, name: "Webcast" }]);
    expect(captureParties("tab+microphone")?.map((p) => p.name)).toEqual(["Webcast", "You"]);
  });
});

describe("partyText", () => {
  const parties = partiesFromCall({ speakers: ["Alice Agent", "customer"], roles: ["agent", "customer"] }, []);
  it("shows name and role, or the name alone", () => {
    expect(partyText("Alice Agent", 0, parties)).toBe("Alice Agent (agent)");
    expect(partyText("customer", 1, parties)).toBe("customer");
    expect(partyText("Webcast", 0, captureParties("tab+microphone"))).toBe("Webcast");
    expect(partyText("speaker 1", undefined, undefined)).toBe("speaker 1");
  });
});
