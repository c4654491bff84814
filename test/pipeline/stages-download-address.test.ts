/**
 * Issue 7 item 4: downloads are checked by the address they connect to, not only by host name.
 * A real local HTTP server on 127.0.0.1 (test/support/recordings-server.ts); names are resolved by
 * the system resolver (`localhost` → loopback) or by an injected resolver (named as a fake) for
 * DNS rebinding and private ranges.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { internalAddressKind, parseAllowedAddresses } from "../../src/server/pipeline/stages/address-policy";
import { downloadRecording } from "../../src/server/pipeline/stages/download";
import { StageError } from "../../src/server/pipeline/stages/errors";
import { startRecordingsServer, type RecordingsServer } from "../support/recordings-server";

let server: RecordingsServer;
let work: string;
let port: number;
const body = new Uint8Array(4096).fill(7);

beforeAll(async () => {
  server = await startRecordingsServer();
  work = await mkdtemp(join(tmpdir(), "callscribe-download-addr-"));
  await server.addFile("call.wav", body);
  port = Number(new URL(server.baseUrl).port);
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<StageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StageError);
  return err as StageError;
}

/** A fake resolver: answers each lookup of a name with the next of `answers`, and counts lookups. */
function fakeResolver(answers: string[]) {
  const calls: string[] = [];
  return {
    calls,
    resolveAll: async (hostname: string) => {
      calls.push(hostname);
      const address = answers[Math.min(calls.length - 1, answers.length - 1)];
      return [{ address, family: (address.includes(":") ? 6 : 4) as 4 | 6 }];
    },
  };
}

describe("download address checks", () => {
  it("refuses an allowed name that resolves to loopback (localhost), without a request", async () => {
    const before = server.requests.length;
    const err = await failure(downloadRecording(`http://localhost:${port}/files/call.wav`, join(work, "a.wav"), { allowedHosts: [`localhost:${port}`], maxBytes: 1e6, timeoutMs: 5000 }));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(server.requests.length).toBe(before);
  });

  it("downloads from that name when its address is allowed explicitly (CALLSCRIBE_ALLOWED_ADDRESSES), connecting to the checked address", async () => {
    const resolver = fakeResolver(["127.0.0.1"]);
    const res = await downloadRecording(`http://recorder.test:${port}/files/call.wav`, join(work, "b.wav"), {
      allowedHosts: [`recorder.test:${port}`],
      allowedAddresses: ["127.0.0.0/8"],
      resolveAll: resolver.resolveAll,
      maxBytes: 1e6,
      timeoutMs: 5000,
    });
    expect(res.bytes).toBe(body.length);
    expect(resolver.calls).toEqual(["recorder.test"]);
    // The Host header keeps the name (virtual hosts, TLS SNI work as before).
    expect(server.requestHosts.at(-1)).toBe(`recorder.test:${port}`);
  });

  it("DNS rebinding: a name that resolves to a public address, then to 127.0.0.1, never reaches loopback", async () => {
    // 192.0.2.1 (TEST-NET-1) is public for the policy and unreachable: the connection times out.
    const resolver = fakeResolver(["192.0.2.1", "127.0.0.1"]);
    const before = server.requests.length;
    const err = await failure(
      downloadRecording(`http://rebind.test:${port}/files/call.wav`, join(work, "c.wav"), { allowedHosts: [`rebind.test:${port}`], resolveAll: resolver.resolveAll, maxBytes: 1e6, timeoutMs: 1500 }),
    );
    expect(err.retryable).toBe(true);
    expect(resolver.calls).toEqual(["rebind.test"]); // resolved once: the connection used that answer
    expect(server.requests.length).toBe(before);
  });

  it("refuses private, link-local, unique-local and IPv4-mapped answers, and a redirect to a name that resolves to loopback", async () => {
    for (const address of ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1", "::"]) {
      const resolver = fakeResolver([address]);
      const err = await failure(downloadRecording("http://internal.test/a.wav", join(work, "d.wav"), { allowedHosts: ["internal.test"], resolveAll: resolver.resolveAll, maxBytes: 1e6, timeoutMs: 2000 }));
      expect([err.retryable, err.message], address).toEqual([false, expect.stringMatching(new RegExp(`internal\\.test resolves to ${address.replace(/[.:]/g, "\\$&")}, an? [a-z-]+ address`))]);
    }
    const before = server.requests.length;
    const err = await failure(
      downloadRecording(`${server.baseUrl}/redirect?to=${encodeURIComponent(`http://localhost:${port}/files/call.wav`)}`, join(work, "e.wav"), {
        allowedHosts: [server.host, `localhost:${port}`],
        maxBytes: 1e6,
        timeoutMs: 5000,
      }),
    );
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/redirect refused: .*localhost resolves to .*loopback/);
    expect(server.requests.length).toBe(before + 1); // only the redirecting request (by its IP-literal entry)
  });

  it("classifies addresses and parses CIDR lists", () => {
    expect(internalAddressKind("8.8.8.8")).toBeUndefined();
    expect(internalAddressKind("2001:4860:4860::8888")).toBeUndefined();
    expect(internalAddressKind("127.0.0.1")).toBe("loopback");
    expect(internalAddressKind("::ffff:7f00:1")).toBe("loopback");
    expect(internalAddressKind("100.64.0.1")).toBe("carrier-grade NAT");
    const list = parseAllowedAddresses(["10.0.0.0/8", "::1"]);
    expect(list.check("10.9.9.9", "ipv4")).toBe(true);
    expect(list.check("11.0.0.1", "ipv4")).toBe(false);
    expect(list.check("::1", "ipv6")).toBe(true);
    for (const bad of ["10.0.0.0/33", "example.com", "10.0.0.0/x", "1.2.3.4/8/9"]) expect(() => parseAllowedAddresses([bad]), bad).toThrow(/not an IP address or CIDR/);
  });
});
