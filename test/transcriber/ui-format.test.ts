import { describe, expect, it } from "vitest";
import { engineText, formatConfidence, formatSeconds, saveResultText } from "../../src/transcriber/ui/format";

describe("transcriber UI formatting", () => {
  it("formats audio times as m:ss.s", () => {
    expect(formatSeconds(0)).toBe("0:00.0");
    expect(formatSeconds(5.24)).toBe("0:05.2");
    expect(formatSeconds(62.34)).toBe("1:02.3");
    expect(formatSeconds(59.96)).toBe("1:00.0");
    expect(formatSeconds(-3)).toBe("0:00.0");
    expect(formatSeconds(Number.NaN)).toBe("0:00.0");
  });

  it("formats confidence as a clamped percentage", () => {
    expect(formatConfidence(0.834)).toBe("83%");
    expect(formatConfidence(1.2)).toBe("100%");
    expect(formatConfidence(-0.1)).toBe("0%");
  });

  it("names the engine that answered, else the model asked for, else the server default", () => {
    expect(engineText({ name: "pocketsphinx", model: "pocketsphinx-en-us" }, undefined)).toBe("pocketsphinx · pocketsphinx-en-us");
    expect(engineText({ name: "whisper", model: "whisper" }, "x")).toBe("whisper");
    expect(engineText(undefined, "whisper-base.en")).toBe("whisper-base.en");
    expect(engineText(undefined, undefined)).toBe("server default");
  });

  it("shows the saving CRM and its status, or the error", () => {
    expect(saveResultText(undefined)).toBe("");
    expect(saveResultText({ state: "saving" })).toBe("saving…");
    expect(saveResultText({ state: "saved", appId: "notes-crm", status: "Created" })).toBe("notes-crm: Created");
    expect(saveResultText({ state: "failed", error: "SaveTranscript: the app choice was cancelled" })).toBe("error: SaveTranscript: the app choice was cancelled");
  });

  it("names the CRM by its title, and says why nothing was saved without calling it an error", () => {
    expect(saveResultText({ state: "saved", appId: "notes-crm", appTitle: "Notes CRM", status: "Created" })).toBe("Notes CRM: Created");
    expect(saveResultText({ state: "not-saved", reason: "cancelled" })).toBe("not saved — you closed the picker");
    expect(saveResultText({ state: "not-saved", reason: "nothing-said" })).toBe("nothing was said, so there is nothing to save");
  });
});
