/// <reference types="vite/client" />

/** libsamplerate-js's build for AudioWorkletGlobalScope (ships without its own declaration file). */
declare module "@alexanderolsen/libsamplerate-js/dist/libsamplerate.worklet.js" {
  export const ConverterType: { SRC_SINC_BEST_QUALITY: 0; SRC_SINC_MEDIUM_QUALITY: 1; SRC_SINC_FASTEST: 2; SRC_ZERO_ORDER_HOLD: 3; SRC_LINEAR: 4 };
  export function create(
    channels: number,
    inputRate: number,
    outputRate: number,
    options?: { converterType?: number },
  ): Promise<{ full(input: Float32Array): Float32Array; destroy(): void }>;
}
