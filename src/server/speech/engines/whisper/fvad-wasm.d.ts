/**
 * Types for `@echogarden/fvad-wasm` 0.2.0 (libfvad, the WebRTC voice-activity detector, compiled to
 * WASM with Emscripten; the package ships no types). Only what `vad.ts` uses.
 */
declare module "@echogarden/fvad-wasm" {
  /** The instantiated Emscripten module. Pointers are byte offsets into `HEAP8`. */
  export interface FvadModule {
    HEAP16: Int16Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    /** New detector (mode 0, 8 kHz); 0 on allocation failure. */
    _fvad_new(): number;
    _fvad_free(inst: number): void;
    _fvad_reset(inst: number): void;
    /** Aggressiveness 0–3; returns 0, or −1 for a bad mode. */
    _fvad_set_mode(inst: number, mode: number): number;
    /** 8000, 16000, 32000 or 48000 Hz; returns 0, or −1. */
    _fvad_set_sample_rate(inst: number, rate: number): number;
    /** One 10, 20 or 30 ms frame of int16 samples: 1 voice, 0 no voice, −1 invalid frame length. */
    _fvad_process(inst: number, frame: number, length: number): number;
  }
  const createFvadModule: (moduleArg?: Record<string, unknown>) => Promise<FvadModule>;
  export default createFvadModule;
}
