/**
 * Demo telephony (issue 8 §4): {@link registerDemoPbx} puts the demo PBX (`pbx.ts`) and its routes
 * (`routes.ts`) on a server. The PBX streams into the same server's `GET /v1/audiohook` over a
 * real WebSocket to the port the server listens on (read when a call starts), so the server must
 * have the AudioHook route on with the same key. Closing the server hangs up every demo call first.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { DemoPbx, type DemoPbxOptions } from "./pbx";
import { demoPbxRoutes } from "./routes";

export { DemoPbx, DemoPbxBusyError, DemoCallExistsError, type DemoCallRequest, type DemoCallStatus } from "./pbx";
export { DemoAudioUnavailableError, DEFAULT_DEMO_TURNS, type DemoTurn } from "./call-audio";

/**
 * The server's own AudioHook URL, from the address it listens on (a wildcard address becomes loopback).
 * @throws Error when the server does not listen yet
 */
export function ownAudioHookUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo | string | null;
  if (!address || typeof address === "string") throw new Error("the server does not listen on a TCP port yet");
  const host = address.address === "0.0.0.0" ? "127.0.0.1" : address.address === "::" ? "::1" : address.address;
  return `ws://${host.includes(":") ? `[${host}]` : host}:${address.port}/v1/audiohook`;
}

/**
 * Create the demo PBX for `app` and register its routes; the PBX hangs up its calls when the server closes.
 * @param options the PBX's options; `audiohookUrl` defaults to {@link ownAudioHookUrl}
 */
export function registerDemoPbx(app: FastifyInstance, options: Omit<DemoPbxOptions, "audiohookUrl"> & { audiohookUrl?: () => string }): DemoPbx {
  const pbx = new DemoPbx({ logger: app.log, ...options, audiohookUrl: options.audiohookUrl ?? (() => ownAudioHookUrl(app)) });
  app.register(demoPbxRoutes, { pbx });
  // A server closing hangs up the demo calls (main.ts hangs up first, so they close with `close` rather than being cut).
  app.addHook("preClose", async () => {
    await pbx.close();
  });
  return pbx;
}
