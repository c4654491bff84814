/**
 * Launching Debian's Chromium through playwright-core (DESIGN §8), optionally with a WAV file
 * as the microphone. Chromium plays the file from the moment the page calls getUserMedia;
 * `%noloop` plays it once (then Chromium repeats its last 10 ms, so pad files with silence).
 */
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM_PATH, requireFile } from "./paths";

const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  // Audio must keep flowing in frames the test does not look at.
  "--autoplay-policy=no-user-gesture-required",
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
];

/**
 * @param micWav absolute path of a WAV to use as the microphone, played once
 * @throws Error when /usr/bin/chromium (or CHROMIUM_PATH) is missing
 */
export async function launchChromium(opts: { micWav?: string } = {}): Promise<Browser> {
  const args = [...BASE_ARGS];
  if (opts.micWav) {
    args.push("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${opts.micWav}%noloop`);
  }
  return chromium.launch({
    executablePath: requireFile(CHROMIUM_PATH, "install Debian's chromium (scripts/install-system-deps.sh)"),
    headless: true,
    args,
  });
}
