/**
 * One-off measurement (kept for the record, `npx tsx bench/ps-dither-experiment.ts [--set s] [--files N]`):
 * PocketSphinx front-end variants on 8 kHz telephony and 16 kHz read speech, offline (`transcribe`),
 * WER over the same rows: default decoder args vs `-dither yes`.
 */
import { parseArgs } from "node:util";
import { loadManifest } from "../src/eval/corpus";
import { loadPcm16k } from "../src/eval/live-client";
import { corpusWer, wordErrorRate } from "../src/eval/wer";
import { decoderArgs } from "../src/server/speech/engines/pocketsphinx/decoder";
import { resolveEngineOptions } from "../src/server/speech/engines/pocketsphinx/options";
import { WorkerPool } from "../src/server/speech/engines/pocketsphinx/pool";

const { values } = parseArgs({ options: { set: { type: "string", default: "telephony_8k" }, files: { type: "string", default: "10" } } });
const opts = resolveEngineOptions({ poolSize: 1 });
const variants: Record<string, string[]> = { default: [], "dither yes": ["-dither", "yes"] };
for (const set of values.set!.split(",")) {
  const rows = loadManifest(set).filter((e) => e.referenceQuality.startsWith("exact") || e.referenceQuality.startsWith("prompt script")).slice(0, Number(values.files));
  const pcms = await Promise.all(rows.map((r) => loadPcm16k(r.path)));
  for (const [name, extra] of Object.entries(variants)) {
    const pool = new WorkerPool({ libDir: opts.libDir, decoderArgs: [...decoderArgs(opts.modelDir), ...extra], tuning: { partialIntervalSec: 0.2 }, spareDecoders: 0 }, 1);
    await pool.start();
    const wers = [];
    for (let i = 0; i < rows.length; i++) {
      const hs = await pool.transcribe(pcms[i]!.slice());
      wers.push(wordErrorRate(rows[i]!.referenceText, hs.map((h) => h.text).join(" ")));
    }
    await pool.close();
    console.log(`${set} (${rows.length} files) ${name}: WER ${(corpusWer(wers).wer * 100).toFixed(1)}%`);
  }
}
