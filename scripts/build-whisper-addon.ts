/**
 * Build smart-whisper's native addon (whisper.cpp + ggml, bundled source) for this machine's CPU.
 * Runs as the root `postinstall` (so `npm ci` gets it) and as `npm run build:whisper` (always rebuilds).
 *
 * Why not smart-whisper's own install script: it runs `node-gyp rebuild` with node's default flags,
 * which compile ggml for baseline x86-64 (SSE2 only): no AVX2/FMA/F16C, ~8x slower here (8.2 s vs
 * 1.0 s per 30 s window, tiny.en, 2 threads). Its binding.gyp has no switch for CPU flags and npm can
 * pass no compiler flags to a dependency's script, so package.json denies that script
 * (`allowScripts: {"smart-whisper": false}`) and this script runs the same `node-gyp rebuild` with
 * `CPPFLAGS` set (gyp's Makefiles add `$(CPPFLAGS)` to every C and C++ compile):
 * - `-march=native`: every instruction set of the build CPU (AVX2, FMA, F16C, AVX-512 where present),
 *   like whisper.cpp's own `GGML_NATIVE=ON` default. The addon then runs only on CPUs with the same
 *   features: set `CALLSCRIBE_WHISPER_CFLAGS` (e.g. `-mavx2 -mfma -mf16c`) to build for a fleet.
 * - `-DNDEBUG`: drops ggml's debug prints (16 lines of stderr per decode).
 *
 * A stamp (`build/callscribe-build.json`: flags, Node ABI, smart-whisper version, CPU flags hash) makes
 * the postinstall a no-op when nothing changed. A failed build prints a warning and exits 0, so the rest
 * of the project still installs; the Whisper engine then reports the missing addon at `ready()`.
 *
 * Usage: tsx scripts/build-whisper-addon.ts [--force]
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";

const force = process.argv.includes("--force");
const require = createRequire(import.meta.url);

function fail(message: string): never {
  console.error(`build-whisper-addon: ${message}`);
  console.error("build-whisper-addon: the Whisper engine stays unavailable until `npm run build:whisper` succeeds.");
  process.exit(0);
}

let packageDir: string;
try {
  packageDir = path.dirname(require.resolve("smart-whisper/package.json"));
} catch {
  fail("smart-whisper is not installed (run npm ci first).");
}
const version = (JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as { version: string }).version;
const addonPath = path.join(packageDir, "build", "Release", "smart-whisper.node");
const stampPath = path.join(packageDir, "build", "callscribe-build.json");

const defaultFlags = ["x64", "arm64"].includes(process.arch) && process.platform !== "win32" ? "-march=native -DNDEBUG" : "-DNDEBUG";
const flags = (process.env.CALLSCRIBE_WHISPER_CFLAGS ?? defaultFlags).trim();

/** Hash of the CPU's feature flags: `-march=native` output is only valid on a CPU with the same ones. */
function cpuFeaturesHash(): string {
  let features = `${process.arch} ${os.cpus()[0]?.model ?? ""}`;
  try {
    const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    features += cpuinfo.match(/^(flags|Features)\s*:.*$/m)?.[0] ?? "";
  } catch {
    // not Linux: the model name has to do
  }
  return createHash("sha256").update(features).digest("hex").slice(0, 16);
}

const stamp = { smartWhisper: version, nodeAbi: process.versions.modules, flags, cpu: cpuFeaturesHash() };

if (!force && existsSync(addonPath) && existsSync(stampPath)) {
  try {
    const previous = JSON.parse(readFileSync(stampPath, "utf8")) as typeof stamp;
    if (JSON.stringify({ ...previous, builtSec: undefined }) === JSON.stringify({ ...stamp, builtSec: undefined })) {
      console.log(`build-whisper-addon: up to date (${flags || "no extra flags"}); --force rebuilds.`);
      process.exit(0);
    }
  } catch {
    // unreadable stamp: rebuild
  }
}

// npm passes its bundled node-gyp to lifecycle scripts; otherwise use the one next to this node's npm.
const nodeGyp =
  process.env.npm_config_node_gyp ??
  [
    path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
  ].find((p) => existsSync(p));
if (!nodeGyp) fail("cannot find node-gyp (it ships with npm); run this through npm: npm run build:whisper");

console.log(`build-whisper-addon: compiling whisper.cpp (smart-whisper ${version}) with CPPFLAGS="${flags}" ...`);
const started = performance.now();
const result = spawnSync(process.execPath, [nodeGyp, "rebuild", "--jobs=max"], {
  cwd: packageDir,
  stdio: ["ignore", "ignore", "pipe"],
  env: { ...process.env, CPPFLAGS: `${process.env.CPPFLAGS ?? ""} ${flags}`.trim() },
  encoding: "utf8",
});
const builtSec = Math.round((performance.now() - started) / 100) / 10;
if (result.status !== 0) {
  const tail = (result.stderr ?? "").split("\n").filter((l) => /error/i.test(l)).slice(-5).join("\n");
  fail(`node-gyp rebuild failed after ${builtSec} s (exit ${result.status ?? result.signal}). A C/C++ toolchain (g++, make, python3) is needed.\n${tail}`);
}
writeFileSync(stampPath, `${JSON.stringify({ ...stamp, builtSec }, null, 2)}\n`);

// Report what the compiler enabled (the macros ggml tests to pick its SIMD code paths).
const macros = spawnSync("sh", ["-c", `${process.env.CC ?? "cc"} ${flags} -dM -E -x c /dev/null`], { encoding: "utf8" }).stdout ?? "";
const simd = ["AVX", "AVX2", "FMA", "F16C", "AVX512F", "ARM_NEON"].filter((f) => new RegExp(`#define __${f}__ 1`).test(macros));
console.log(`build-whisper-addon: built in ${builtSec} s; SIMD: ${simd.join(" ") || "none (generic build: slow)"}.`);
