/**
 * libsamplerate-js's Node build for tests: the same WASM converter the capture worklet runs
 * through the package's worklet build. The package is a UMD bundle whose API sits on the module,
 * its default export or `LibSampleRate`, depending on the loader.
 */
import * as ns from "@alexanderolsen/libsamplerate-js";
import type { CreateConverter } from "../../src/transcriber/audio/capture-core";

type Api = { create?: CreateConverter; simple?: unknown; LibSampleRate?: Api; default?: Api };
const mod = ns as unknown as Api;
const api = [mod, mod.default, mod.LibSampleRate, mod.default?.LibSampleRate].find((m) => typeof m?.create === "function");
if (!api?.create) throw new Error("libsamplerate-js: create() not found");

/** `create(channels, inRate, outRate, {converterType})`. */
export const createConverter: CreateConverter = api.create;
