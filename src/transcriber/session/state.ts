/**
 * The transcription session's lifecycle as an explicit state machine, shown in the UI's
 * `status` element:
 *
 *   idle ─start→ starting ─started→ listening ─stop→ stopping ─stopped→ stopped ─save→ saving ─saved→ saved
 *    ▲              │                                            (start again from stopped, saving, saved or error)
 *    └── any state ─fail→ error                                   saving ─unsaved→ stopped (the user closed the picker)
 *
 * `stop` is also allowed from `starting` (the call ended while the microphone was opening);
 * `save` also from `saved` and `error` (save again, or retry a failed save of a stopped session);
 * `start` also from `saving`: the next call must not wait for the user to pick a CRM for the last one.
 */

/** Session status, as shown in `data-testid="status"`. */
export type SessionStatus = "idle" | "starting" | "listening" | "stopping" | "stopped" | "saving" | "saved" | "error";

/** What happens to a session. */
export type SessionEvent = "start" | "started" | "stop" | "stopped" | "save" | "saved" | "unsaved" | "fail";

const TRANSITIONS: Record<SessionEvent, { from: readonly SessionStatus[] | "any"; to: SessionStatus }> = {
  start: { from: ["idle", "stopped", "saving", "saved", "error"], to: "starting" },
  started: { from: ["starting"], to: "listening" },
  stop: { from: ["starting", "listening"], to: "stopping" },
  stopped: { from: ["stopping"], to: "stopped" },
  save: { from: ["stopped", "saved", "error"], to: "saving" },
  saved: { from: ["saving"], to: "saved" },
  // Not a failure: the user cancelled the app choice; the transcript waits to be saved again.
  unsaved: { from: ["saving"], to: "stopped" },
  fail: { from: "any", to: "error" },
};

/** Thrown by {@link transition} for an event the current status does not allow. */
export class InvalidTransitionError extends Error {
  constructor(
    readonly status: SessionStatus,
    readonly event: SessionEvent,
  ) {
    super(`cannot ${event} while ${status}`);
    this.name = "InvalidTransitionError";
  }
}

/** Whether `event` is allowed in `status`. */
export function canTransition(status: SessionStatus, event: SessionEvent): boolean {
  const rule = TRANSITIONS[event];
  return rule.from === "any" || rule.from.includes(status);
}

/**
 * The status after `event`.
 * @throws InvalidTransitionError when the event is not allowed in `status`
 */
export function transition(status: SessionStatus, event: SessionEvent): SessionStatus {
  if (!canTransition(status, event)) throw new InvalidTransitionError(status, event);
  return TRANSITIONS[event].to;
}

/** Whether a session in `status` is capturing or about to (a new start must wait). */
export function isActive(status: SessionStatus): boolean {
  return status === "starting" || status === "listening" || status === "stopping";
}
