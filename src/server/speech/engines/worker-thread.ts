/**
 * Starting an engine's worker thread from TypeScript or compiled JavaScript, shared by the
 * PocketSphinx and Whisper pools.
 *
 * Compiled (`.js`), the worker module runs as is. As TypeScript (under `tsx` or vitest) it needs
 * tsx's loader inside the thread, and on Node 20 neither an inherited nor an explicit
 * `execArgv: ["--import", "tsx"]` reaches a worker's entry module (checked: ERR_UNKNOWN_FILE_EXTENSION
 * either way; importing tsx's `--import` loader module at run time does not help either). So a tiny
 * inline bootstrap calls `register()` of tsx's ESM API (`tsx/esm/api`, its `import` build: the CJS
 * build fails to register in a thread) and then imports the worker. tsx is resolved from this file,
 * not from the cwd.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

/**
 * Start the worker module `worker.ts` (or `worker.js` once compiled) that sits beside `callerUrl`.
 * @param callerUrl `import.meta.url` of the pool module starting it
 * @param workerData passed to the thread as `workerData`
 * @throws Error when tsx's ESM API cannot be found (TypeScript runs only)
 */
export function startEngineWorker(callerUrl: string, workerData: unknown): Worker {
  const ext = path.extname(fileURLToPath(callerUrl)); // ".ts" under tsx/vitest, ".js" once compiled
  const entry = new URL(`./worker${ext}`, callerUrl);
  if (ext !== ".ts") return new Worker(entry, { workerData });
  const bootstrap = `import(${JSON.stringify(tsxEsmApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** URL of tsx's ESM API module, read from tsx's package `exports` (`require.resolve` would give the CJS build). */
function tsxEsmApiUrl(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve("tsx/package.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    exports: Record<string, { import?: { default?: string } } | string>;
  };
  const api = manifest.exports["./esm/api"];
  const file = typeof api === "object" ? api.import?.default : undefined;
  if (!file) throw new Error("Cannot find tsx's ESM API (tsx/esm/api) to run an engine worker from TypeScript");
  return pathToFileURL(path.join(path.dirname(manifestPath), file)).href;
}
