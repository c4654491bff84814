/**
 * WAV (RIFF/RIFX/RF64) decoding with the `wavefile` package: integer PCM of 8 to 32 bits, IEEE float
 * (32/64), G.711 μ-law and A-law, IMA ADPCM, and WAVE_FORMAT_EXTENSIBLE holding PCM or float.
 */
import { WaveFile, type WaveFileInstance } from "./wavefile-interop";
import { AudioDecodeError, type DecodedAudio } from "./pcm";

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_ALAW = 6;
const WAVE_FORMAT_MULAW = 7;
const WAVE_FORMAT_IMA_ADPCM = 17;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** True when the bytes start like a WAV file ("RIFF"/"RIFX"/"RF64" … "WAVE"). */
export function looksLikeWav(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const tag = String.fromCharCode(...bytes.subarray(0, 4));
  const wave = String.fromCharCode(...bytes.subarray(8, 12));
  return (tag === "RIFF" || tag === "RIFX" || tag === "RF64") && wave === "WAVE";
}

/** WAV codec name from the `fmt ` chunk: `wav/pcm`, `wav/float`, `wav/mulaw`, `wav/alaw`, `wav/adpcm` (`wav/<code>` for others). */
export function wavFormatName(bytes: Uint8Array): string {
  const ascii = (start: number, length: number) => String.fromCharCode(...bytes.subarray(start, start + length));
  const little = ascii(0, 4) !== "RIFX";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 12; o + 8 <= bytes.length; ) {
    const id = ascii(o, 4);
    const size = view.getUint32(o + 4, little);
    if (id === "fmt " && o + 10 <= bytes.length) {
      let code = view.getUint16(o + 8, little);
      // WAVE_FORMAT_EXTENSIBLE: the real code is the first two bytes of the SubFormat GUID.
      if (code === 0xfffe && o + 34 <= bytes.length) code = view.getUint16(o + 32, little);
      return { 1: "wav/pcm", 3: "wav/float", 6: "wav/alaw", 7: "wav/mulaw", 17: "wav/adpcm" }[code] ?? `wav/${code}`;
    }
    o += 8 + size + (size & 1);
  }
  return "wav";
}

interface FmtChunk {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
  bitsPerSample: number;
  subformat?: number[];
}

/**
 * Decode a whole WAV file to planar floats in [-1, 1].
 * @throws AudioDecodeError when the bytes are not a WAV file, the format is unsupported, or it has no samples.
 */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  let wav: WaveFileInstance;
  try {
    wav = new WaveFile(bytes);
  } catch (err) {
    throw new AudioDecodeError(`not a readable WAV file: ${(err as Error).message}`);
  }
  // Copy the header fields now: toBitDepth() below rebuilds (and resets) wav.fmt.
  const fmt = { ...(wav.fmt as FmtChunk) };
  const channelCount = fmt.numChannels;
  if (!(channelCount >= 1) || !(fmt.sampleRate > 0)) {
    throw new AudioDecodeError(`WAV header is invalid: ${channelCount} channels at ${fmt.sampleRate} Hz`);
  }
  const format =
    fmt.audioFormat === WAVE_FORMAT_EXTENSIBLE && fmt.subformat ? fmt.subformat[0] & 0xffff : fmt.audioFormat;

  let interleaved: Float32Array;
  try {
    if (format === WAVE_FORMAT_IEEE_FLOAT && fmt.bitsPerSample === 32 && fmt.audioFormat === WAVE_FORMAT_EXTENSIBLE) {
      // wavefile reads extensible 32-bit float as int32: reinterpret the same bits as float32.
      const ints = wav.getSamples(true, Int32Array) as unknown as Int32Array;
      interleaved = new Float32Array(ints.buffer, ints.byteOffset, ints.length);
    } else if (
      format === WAVE_FORMAT_PCM ||
      format === WAVE_FORMAT_IEEE_FLOAT ||
      format === WAVE_FORMAT_ALAW ||
      format === WAVE_FORMAT_MULAW ||
      format === WAVE_FORMAT_IMA_ADPCM
    ) {
      if (fmt.audioFormat === WAVE_FORMAT_EXTENSIBLE && format !== WAVE_FORMAT_PCM && format !== WAVE_FORMAT_IEEE_FLOAT) {
        throw new AudioDecodeError(`unsupported WAVE_FORMAT_EXTENSIBLE subformat ${format}`);
      }
      // Expand G.711 / ADPCM to 16-bit first: wavefile's toBitDepth() on a compressed file scales the
      // expanded samples as if they were still 8-bit (it reads the bit depth before expanding).
      if (wav.bitDepth === "8m") wav.fromMuLaw("16");
      else if (wav.bitDepth === "8a") wav.fromALaw("16");
      else if (wav.bitDepth === "4") wav.fromIMAADPCM("16");
      // toBitDepth('32f') scales integers (8-bit unsigned included) to [-1, 1].
      if (wav.bitDepth !== "32f") wav.toBitDepth("32f");
      interleaved = wav.getSamples(true, Float32Array) as unknown as Float32Array;
    } else {
      throw new AudioDecodeError(`unsupported WAV audio format code ${format} (supported: PCM, IEEE float, μ-law, A-law, IMA ADPCM)`);
    }
  } catch (err) {
    if (err instanceof AudioDecodeError) throw err;
    throw new AudioDecodeError(`cannot decode WAV samples: ${(err as Error).message}`);
  }
  const frames = Math.floor(interleaved.length / channelCount);
  if (frames === 0) throw new AudioDecodeError("WAV file has no audio samples");
  const channels = Array.from({ length: channelCount }, () => new Float32Array(frames));
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channelCount; c++) channels[c][f] = interleaved[f * channelCount + c];
  }
  return { sampleRate: fmt.sampleRate, channels, duration: frames / fmt.sampleRate, format: wavFormatName(bytes) };
}
