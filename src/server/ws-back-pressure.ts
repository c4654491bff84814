/**
 * TCP back-pressure on a WebSocket without losing sight of the client.
 *
 * When the engines fall behind, the server stops reading a client's socket (`socket.pause()`), so
 * the client's sends wait in TCP instead of in our memory. While paused, Node does not read, so it
 * also does not see the client's FIN: a client that went away stays "connected" until the audio
 * already in the kernel's receive buffer has been worked through (for a flood, minutes, with its
 * live channels held all that time). A WebSocket ping written every {@link PAUSED_PING_MS} while
 * paused finds out: to a peer that closed its socket the write fails (EPIPE / ECONNRESET once its
 * RST comes back), and `ws` then emits `close`, which ends the session at once.
 */

/** The part of `ws`'s WebSocket used here (an in-process stand-in without `ping` is only paused). */
export interface PausableSocket {
  pause(): void;
  resume(): void;
  ping?(): void;
  once?(event: "close", listener: () => void): unknown;
  readonly readyState: number;
  readonly OPEN: number;
}

/** Interval of the liveness pings while reading is paused, ms. */
export const PAUSED_PING_MS = 1_000;

const watches = new WeakMap<PausableSocket, ReturnType<typeof setInterval>>();

function unwatch(socket: PausableSocket): void {
  const timer = watches.get(socket);
  if (timer) clearInterval(timer);
  watches.delete(socket);
}

/** Stop reading `socket`, pinging it every `everyMs` while it stays paused. Idempotent. */
export function pauseReading(socket: PausableSocket, everyMs = PAUSED_PING_MS): void {
  socket.pause();
  if (watches.has(socket) || typeof socket.ping !== "function") return;
  const timer = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return unwatch(socket);
    try {
      socket.ping!();
    } catch {
      unwatch(socket); // closing already: its close event ends the session
    }
  }, everyMs);
  timer.unref?.();
  watches.set(socket, timer);
  socket.once?.("close", () => unwatch(socket));
}

/** Read `socket` again (and stop the pings). */
export function resumeReading(socket: PausableSocket): void {
  unwatch(socket);
  socket.resume();
}
