/**
 * Serves built pages on 127.0.0.1 with `vite preview`, for tests of the desktop
 * agent and the demo apps that need no speech server. (The full-flow test uses the real
 * Callscribe server instead.) 127.0.0.1 is a secure context, like localhost.
 */
import { preview } from "vite";
import { resolve } from "node:path";
import type { AddressInfo } from "node:net";
import { REPO_ROOT, requireFile } from "./paths";

/** A running `vite preview` of the built pages. */
export interface StaticServer {
  /** e.g. `http://127.0.0.1:43123` */
  origin: string;
  close(): Promise<void>;
}

/** @param distDir the built pages (the e2e globalSetup provides them as `inject("e2eDistDir")`) */
export async function startStaticServer(distDir: string): Promise<StaticServer> {
  requireFile(resolve(distDir, "desktop-agent/index.html"), "run `npx vite build` first");
  const server = await preview({
    configFile: resolve(REPO_ROOT, "vite.config.ts"),
    build: { outDir: distDir },
    preview: { host: "127.0.0.1", port: 0, strictPort: false, open: false },
    logLevel: "warn",
  });
  const { port } = server.httpServer.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => server.close() };
}
