/**
 * PocketSphinx engine figures: decoder init time and memory, real-time factor (RTF = decode time /
 * audio duration) on one corpus file, stream-open latency with and without a spare decoder, and the
 * main event loop's worst delay while a worker decodes.
 *
 * Run: `npx tsx bench/pocketsphinx-engine.ts [corpus-relative WAV]` (corpus from CALLSCRIBE_CORPUS_DIR or ../shared/corpus).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { WaveFile } from "../src/server/speech/audio/wavefile-interop.js";
import { PocketSphinxDecoder, decoderArgs } from "../src/server/speech/engines/pocketsphinx/decoder.js";
import { loadPocketSphinxLib } from "../src/server/speech/engines/pocketsphinx/ffi.js";
import { createPocketSphinxEngine } from "../src/server/speech/engines/pocketsphinx/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const corpus = process.env.CALLSCRIBE_CORPUS_DIR ?? path.resolve(repoRoot, "..", "shared", "corpus");
const file = process.argv[2] ?? "debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0870.wav";
const pcm = new WaveFile(readFileSync(path.join(corpus, file))).getSamples(false, Int16Array) as unknown as Int16Array;
const seconds = pcm.length / 16_000;
const ms = (t0: number) => performance.now() - t0;
const fmt = (x: number) => x.toFixed(0);

// 1. In this thread, no pool: ps_init cost and memory, and pure decode RTF in 100 ms chunks.
const engineDefaults = createPocketSphinxEngine().options;
const lib = loadPocketSphinxLib(engineDefaults.libDir);
const args = decoderArgs(engineDefaults.modelDir);
const inits: number[] = [];
const decoders: PocketSphinxDecoder[] = [];
const rss0 = process.memoryUsage().rss;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  decoders.push(PocketSphinxDecoder.create(lib, args, { partialIntervalSec: 0.2 }));
  inits.push(ms(t0));
}
const mbPerDecoder = (process.memoryUsage().rss - rss0) / 3 / 1e6;
const rtfs: number[] = [];
for (const decoder of decoders) {
  const t0 = performance.now();
  decoder.begin();
  for (let i = 0; i < pcm.length; i += 1600) decoder.process(pcm.subarray(i, i + 1600));
  decoder.flush();
  decoder.end();
  rtfs.push(ms(t0) / 1000 / seconds);
  decoder.free();
}
console.log(`file ${file} (${seconds.toFixed(2)} s)`);
console.log(`ps_init: ${inits.map(fmt).join(", ")} ms; ~${fmt(mbPerDecoder)} MB RSS per decoder`);
console.log(`decode RTF (one thread, 100 ms chunks, partials every 0.2 s): ${rtfs.map((r) => r.toFixed(3)).join(", ")}`);

// 2. Through the engine: ready(), stream open with/without a spare decoder, transcribe with the loop monitored.
for (const spareDecodersPerWorker of [1, 0]) {
  const engine = createPocketSphinxEngine({ poolSize: 1, spareDecodersPerWorker });
  let t0 = performance.now();
  await engine.ready();
  const ready = ms(t0);
  t0 = performance.now();
  const stream = await engine.createStream();
  const open = ms(t0);
  await stream.close();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  t0 = performance.now();
  const utterances = await engine.transcribe(pcm);
  const wall = ms(t0);
  loop.disable();
  console.log(
    `engine spare=${spareDecodersPerWorker}: ready ${fmt(ready)} ms, createStream ${fmt(open)} ms, ` +
      `transcribe ${fmt(wall)} ms (RTF ${(wall / 1000 / seconds).toFixed(3)}, ${utterances.length} utterances), ` +
      `main loop max delay ${fmt(loop.max / 1e6)} ms`,
  );
  await engine.close();
}
