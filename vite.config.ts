/// <reference types="vitest/config" />
/**
 * One Vite config for the browser pages (multi-page build) and for vitest.
 *
 * Pages live under `src/` and keep their paths in `dist/`, so the App Directory URLs
 * (`/transcriber/`, `/demo/softphone/`, `/demo/crm/acme.html`, ...) resolve against the same
 * origin the speech server serves `dist/` from. `@finos/fdc3*` 2.2.1-beta.2 are ESM without
 * `"type":"module"`: they are only imported from browser code that Vite bundles.
 */
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL(".", import.meta.url));
const page = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  root: "src",
  base: "/",
  plugins: [react()],
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    // Source maps make failures in the e2e browser readable; the pages are small.
    sourcemap: true,
    rolldownOptions: {
      input: {
        "desktop-agent": page("desktop-agent/index.html"),
        transcriber: page("transcriber/index.html"),
        library: page("library/index.html"),
        softphone: page("demo/softphone/index.html"),
        "crm-acme": page("demo/crm/acme.html"),
        "crm-notes": page("demo/crm/notes.html"),
        "crm-standard": page("demo/crm/standard.html"),
      },
    },
  },
  server: { fs: { allow: [repoRoot] } },
  test: {
    root: repoRoot,
    // Every test is `test/**/*.test.ts`: the "unit" project takes all but `test/e2e/`, the "e2e"
    // project takes `test/e2e/`. (No root `include`: projects that extend the root would
    // concatenate it with their own and run the unit files twice.)
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The end-to-end files drive a real Chromium and a real PocketSphinx decoder; on small
    // machines they must not share the CPU with each other, so they run in one sequence
    // after the rest (see `sequence.groupOrder` in projects below).
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          // Known flake (issue 7 closing note): now and then a CRM opened for SaveTranscript in a new
          // window never answered. The likely cause, a listener re-added while the intent that
          // opened the window was delivered to the first one, is mended (src/demo/shared/
          // useIntentListener.ts, src/library/fdc3/inbox.ts); one retry stays until full runs have
          // shown it gone (a retried test is reported "retry x1"); a test that fails twice fails the run.
          retry: 1,
          globalSetup: ["test/e2e/support/global-setup.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
