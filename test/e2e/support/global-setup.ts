/**
 * vitest globalSetup for the e2e project: build the pages once into a private temp folder and
 * hand its path to the tests (`inject("e2eDistDir")`). Private, because `dist/` is shared: a
 * `vite build` started elsewhere during the run empties it and renames every asset, and pages
 * the browser is loading then fail. Set `CALLSCRIBE_E2E_DIST` to test an existing build instead
 * (e.g. `CALLSCRIBE_E2E_DIST=dist` after `npm run build`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "vite";
import type { TestProject } from "vitest/node";
import { REPO_ROOT, requireFile } from "./paths";

declare module "vitest" {
  export interface ProvidedContext {
    /** Absolute path of the built pages the e2e tests serve. */
    e2eDistDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const given = process.env.CALLSCRIBE_E2E_DIST;
  if (given) {
    const dir = resolve(REPO_ROOT, given);
    requireFile(join(dir, "desktop-agent/index.html"), "CALLSCRIBE_E2E_DIST must point at a `vite build` output");
    project.provide("e2eDistDir", dir);
    return () => undefined;
  }
  const outDir = mkdtempSync(join(tmpdir(), "callscribe-e2e-dist-"));
  await build({ configFile: resolve(REPO_ROOT, "vite.config.ts"), logLevel: "warn", build: { outDir, emptyOutDir: true } });
  project.provide("e2eDistDir", outDir);
  return () => rmSync(outDir, { recursive: true, force: true });
}
