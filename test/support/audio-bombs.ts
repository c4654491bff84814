/**
 * Hostile audio for resource-bound tests, built at test time:
 * - a tiny FLAC that decodes to hours: digital silence, which libFLAC (`libflacjs`) codes as
 *   constant subframes of a few bytes per 4 608-sample block (1 h at 8 kHz ≈ 80 KB);
 * - the same stream with STREAMINFO's total-samples field zeroed ("unknown", which the format
 *   allows), so only decoding can tell how long it is;
 * - a WAV whose header claims an absurd sample rate (the samples are a real recording's).
 */
import { loadFlac } from "./audio-encoders";

/**
 * FLAC of `seconds` of silence, 16-bit, mono or more channels, block size 4 608, compression 0.
 * @param seconds length; hours are fine (encoding takes ~2 s per hour at 8 kHz on one core)
 */
export async function silentFlac(seconds: number, sampleRate = 8000, channels = 1): Promise<Uint8Array> {
  const Flac = await loadFlac();
  const frames = Math.round(seconds * sampleRate);
  const encoder = Flac.create_libflac_encoder(sampleRate, channels, 16, 0, frames, false, 4608);
  if (!encoder) throw new Error("libflacjs could not create an encoder");
  const parts: Uint8Array[] = [];
  try {
    if (Flac.init_encoder_stream(encoder, (data) => parts.push(Uint8Array.from(data))) !== 0) throw new Error("libflacjs init failed");
    const step = sampleRate * 60;
    const zeros = new Int32Array(step * channels);
    for (let done = 0; done < frames; done += step) {
      if (!Flac.FLAC__stream_encoder_process_interleaved(encoder, zeros, Math.min(step, frames - done))) throw new Error("libflacjs failed to encode");
    }
    if (!Flac.FLAC__stream_encoder_finish(encoder)) throw new Error("libflacjs failed to finish");
  } finally {
    Flac.FLAC__stream_encoder_delete(encoder);
  }
  return Buffer.concat(parts);
}

/** A copy of a FLAC stream whose STREAMINFO says the total samples are unknown (0). */
export function withUnknownLength(flac: Uint8Array): Uint8Array {
  const out = Uint8Array.from(flac);
  const si = 8; // "fLaC" + the STREAMINFO block header
  out[si + 13] &= 0xf0; // top 4 of the 36 bits share a byte with bits-per-sample
  out.fill(0, si + 14, si + 18);
  return out;
}

/** A copy of a WAV file whose `fmt ` chunk claims `sampleRate` Hz (byte rate adjusted to match). */
export function withWavSampleRate(wav: Uint8Array, sampleRate: number): Uint8Array {
  const out = Uint8Array.from(wav);
  const view = new DataView(out.buffer);
  for (let o = 12; o + 8 <= out.length; ) {
    const id = String.fromCharCode(...out.subarray(o, o + 4));
    const size = view.getUint32(o + 4, true);
    if (id === "fmt ") {
      const blockAlign = view.getUint16(o + 20, true);
      view.setUint32(o + 12, sampleRate, true);
      view.setUint32(o + 16, sampleRate * blockAlign, true);
      return out;
    }
    o += 8 + size + (size % 2);
  }
  throw new Error("no fmt chunk");
}
