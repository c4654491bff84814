/**
 * The Recordings panel's client when the speech server is down: the user is told that the
 * server cannot be reached and at which address, not "Failed to fetch" / "fetch failed".
 */
import { describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { freePort } from "../../src/eval/free-port";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
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

describe("Recordings client against a server without the recorded-call pipeline", () => {
  it("says the server keeps no recorded calls instead of 'server answered 404'", async () => {
    const engine = createPocketSphinxEngine();
    const server = buildServer({ engine }); // no pipeline: no /v1/calls
    try {
      await server.listen({ host: "127.0.0.1", port: 0 });
      const baseUrl = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
      await expect(fetchFinishedRecordings({ baseUrl })).rejects.toThrow(`the server at ${baseUrl} keeps no recorded calls (GET /v1/calls answered 404)`);
    } finally {
      await server.close();
      await engine.close();
    }
  });
});
