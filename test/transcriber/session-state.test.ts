import { describe, expect, it } from "vitest";
import { InvalidTransitionError, canTransition, isActive, transition, type SessionEvent, type SessionStatus } from "../../src/transcriber/session/state";

describe("session state machine", () => {
  it("walks the happy path idle → … → saved and can start again", () => {
    const events: SessionEvent[] = ["start", "started", "stop", "stopped", "save", "saved", "start"];
    const seen: SessionStatus[] = [];
    let status: SessionStatus = "idle";
    for (const e of events) seen.push((status = transition(status, e)));
    expect(seen).toEqual(["starting", "listening", "stopping", "stopped", "saving", "saved", "starting"]);
  });

  it("refuses events that make no sense in the current status", () => {
    expect(() => transition("idle", "stop")).toThrow(InvalidTransitionError);
    expect(() => transition("listening", "start")).toThrow("cannot start while listening");
    expect(() => transition("stopping", "save")).toThrow(InvalidTransitionError);
    expect(canTransition("stopping", "start")).toBe(false);
    expect(canTransition("starting", "save")).toBe(false);
  });

  it("fails from any status, and allows stop while starting and a save retry after an error", () => {
    for (const s of ["idle", "starting", "listening", "stopping", "stopped", "saving", "saved", "error"] as SessionStatus[]) {
      expect(transition(s, "fail")).toBe("error");
    }
    expect(transition("starting", "stop")).toBe("stopping");
    expect(transition("error", "save")).toBe("saving");
    // The next call may start while the user still picks a CRM for the last transcript.
    expect(transition("saving", "start")).toBe("starting");
  });

  it("goes back to stopped, not error, when the user cancels the app choice, and can save again", () => {
    expect(transition("saving", "unsaved")).toBe("stopped");
    expect(transition("stopped", "save")).toBe("saving");
    expect(canTransition("listening", "unsaved")).toBe(false);
  });

  it("counts starting, listening and stopping as active", () => {
    expect(["starting", "listening", "stopping"].every((s) => isActive(s as SessionStatus))).toBe(true);
    expect(["idle", "stopped", "saving", "saved", "error"].some((s) => isActive(s as SessionStatus))).toBe(false);
  });
});
