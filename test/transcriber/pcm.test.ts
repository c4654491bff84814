import { describe, expect, it } from "vitest";
import { Pcm16Framer, floatToPcm16, frameSamples } from "../../src/transcriber/audio/pcm";

describe("floatToPcm16", () => {
  it("maps full scale to the int16 limits, rounds, and clamps", () => {
    const out = floatToPcm16(new Float32Array([-1, 1, 0, 0.5, -0.5, 2, -3, Number.NaN, 1 / 32767]));
    expect(Array.from(out)).toEqual([-32768, 32767, 0, 16384, -16384, 32767, -32768, 0, 1]);
  });
});

describe("frameSamples", () => {
  it("gives 1600 samples for 100 ms at 16 kHz and refuses empty frames", () => {
    expect(frameSamples(16000)).toBe(1600);
    expect(frameSamples(8000, 20)).toBe(160);
    expect(() => frameSamples(16000, 0)).toThrow(RangeError);
  });
});

describe("Pcm16Framer", () => {
  it("cuts any chunking into frames of exactly frameLength, in order, with the rest on flush", () => {
    const framer = new Pcm16Framer(1600);
    const total = 1600 * 3 + 123;
    const source = Int16Array.from({ length: total }, (_, i) => (i * 7) % 30000);
    const frames: Int16Array[] = [];
    for (let at = 0; at < total; at += 128) frames.push(...framer.push(source.subarray(at, Math.min(total, at + 128))));
    expect(frames.map((f) => f.length)).toEqual([1600, 1600, 1600]);
    const last = framer.flush();
    expect(last?.length).toBe(123);
    expect(framer.flush()).toBeNull();
    const joined = new Int16Array(total);
    let at = 0;
    for (const f of [...frames, last!]) {
      joined.set(f, at);
      at += f.length;
    }
    expect(joined).toEqual(source);
  });

  it("returns frames that later pushes do not overwrite", () => {
    const framer = new Pcm16Framer(4);
    const [first] = framer.push(Int16Array.from([1, 2, 3, 4]));
    framer.push(Int16Array.from([9, 9, 9, 9]));
    expect(Array.from(first!)).toEqual([1, 2, 3, 4]);
  });

  it("refuses a non-positive frame length", () => {
    expect(() => new Pcm16Framer(0)).toThrow(RangeError);
  });
});
