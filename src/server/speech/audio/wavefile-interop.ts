/**
 * `wavefile` ships CommonJS (`main`) and an untyped ES module (`module`); depending on the loader
 * (Node, tsx, vitest) its class arrives as a named export or on the default export. This resolves it once.
 */
import * as wavefileNs from "wavefile";

type WaveFileCtor = typeof import("wavefile").WaveFile;

const ns = wavefileNs as unknown as { WaveFile?: WaveFileCtor; default?: { WaveFile?: WaveFileCtor } };

/** The `WaveFile` class of the `wavefile` package (PCM, float, μ-law, A-law WAV reader/writer). */
export const WaveFile: WaveFileCtor = (ns.WaveFile ?? ns.default?.WaveFile)!;
/** Instance type of {@link WaveFile}. */
export type WaveFileInstance = InstanceType<WaveFileCtor>;
