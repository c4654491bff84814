/**
 * The desktop host's token hand-out (`src/desktop-agent/serverTokens.ts`), with stand-in windows
 * (Node's EventTarget and Event; named fakes, since the e2e flow covers real Chromium):
 * the desktop secret leaves the address bar and stays in sessionStorage; only the host's own app
 * frames, on its own origin, get a token; a refusal travels back as an error.
 */
import { describe, expect, it } from "vitest";
import { answerTokenRequests, SERVER_TOKEN_REQUEST, SERVER_TOKEN_RESPONSE, takeDesktopSecret } from "../../src/desktop-agent/serverTokens";

const ORIGIN = "http://127.0.0.1:8787";

/** A fake host window: location, history, sessionStorage and message events. */
function fakeHostWindow(hash = "") {
  const target = new EventTarget();
  const store = new Map<string, string>();
  const win = Object.assign(target, {
    location: { origin: ORIGIN, pathname: "/desktop-agent/", search: "", hash },
    history: {
      state: null,
      replaceState(_s: unknown, _t: string, url: string) {
        win.location.hash = url.includes("#") ? url.slice(url.indexOf("#")) : "";
      },
    },
    sessionStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) },
  });
  return win as unknown as Window & { location: { hash: string } };
}

/** A message event as a browser delivers it (Node's MessageEvent only takes MessagePort sources). */
const message = (data: unknown, origin: string, source: Window) => Object.assign(new Event("message"), { data, origin, source });

/** A fake app frame window that records what is posted to it. */
function fakeAppWindow() {
  const posted: { data: any; origin: string }[] = [];
  return { posted, win: { postMessage: (data: unknown, origin: string) => posted.push({ data, origin }) } as unknown as Window };
}

describe("takeDesktopSecret", () => {
  it("takes the secret from the fragment, removes it, and finds it again after a reload", () => {
    const win = fakeHostWindow("#desktop=s3cret-value&x=1");
    expect(takeDesktopSecret(win)).toBe("s3cret-value");
    expect(win.location.hash).toBe("#x=1");
    expect(takeDesktopSecret(win)).toBe("s3cret-value"); // from sessionStorage now
    expect(takeDesktopSecret(fakeHostWindow())).toBeUndefined();
  });
});

describe("answerTokenRequests", () => {
  const flush = () => new Promise((r) => setTimeout(r, 0));

  it("answers the host's own app frames on its origin, and nobody else", async () => {
    const host = fakeHostWindow();
    const app = fakeAppWindow();
    const stranger = fakeAppWindow();
    answerTokenRequests(host, { token: async () => "cs1.token" }, (w) => w === (app.win as unknown));
    const ask = (source: Window, origin: string, id: string) =>
      host.dispatchEvent(message({ type: SERVER_TOKEN_REQUEST, id }, origin, source));
    ask(app.win, ORIGIN, "1");
    ask(app.win, "http://evil.example", "2"); // an app frame navigated elsewhere
    ask(stranger.win, ORIGIN, "3"); // a window that is not one of the host's frames
    await flush();
    expect(app.posted).toEqual([{ data: { type: SERVER_TOKEN_RESPONSE, id: "1", token: "cs1.token" }, origin: ORIGIN }]);
    expect(stranger.posted).toEqual([]);
  });

  it("passes a refusal on as an error", async () => {
    const host = fakeHostWindow();
    const app = fakeAppWindow();
    answerTokenRequests(host, { token: async () => Promise.reject(new Error("needs the desktop link")) }, () => true);
    host.dispatchEvent(message({ type: SERVER_TOKEN_REQUEST, id: "9" }, ORIGIN, app.win));
    await flush();
    await flush();
    expect(app.posted[0].data).toEqual({ type: SERVER_TOKEN_RESPONSE, id: "9", error: "needs the desktop link" });
  });
});
