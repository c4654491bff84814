/**
 * The Recordings panel's client when the speech server is down: the user is told that the
 * server cannot be reached and at which address, not "Failed to fetch" / "fetch failed".
 */
import { describe, expect, it } from "vitest";
import { freePort } from "../../src/eval/free-port";
import { fetchFinishedRecordings, fetchRecordingTranscript } from "../../src/transcriber/recordings/client";

describe("Recordings client without a server", () => {
  it("names the address it could not reach", async () => {
    const baseUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const expected = `cannot reach the speech server at ${baseUrl} (is it running, and is this its address?)`;
    await expect(fetchFinishedRecordings({ baseUrl })).rejects.toThrow(expected);
    await expect(fetchRecordingTranscript({ baseUrl }, "call-1")).rejects.toThrow(expected);
  });

  it("keeps other fetch failures as they are", async () => {
    const fetchImpl = (async () => {
      throw new Error("aborted by the page");
    }) as unknown as typeof fetch;
    await expect(fetchFinishedRecordings({ baseUrl: "http://127.0.0.1:1", fetchImpl })).rejects.toThrow("aborted by the page");
  });
});
