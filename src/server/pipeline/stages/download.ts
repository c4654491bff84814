/**
 * Download stage: fetch a recording URL to a file, guarded against SSRF (DESIGN §9).
 *
 * - Only `http:` and `https:`; no credentials in the URL.
 * - The host must be on the allow-list. An entry `host` matches that host on any port; an entry
 *   `host:port` matches only that port (the scheme's default port counts: `https://h/` is `h:443`).
 *   Hosts are compared after WHATWG URL normalisation (lower case, punycode, no trailing dot), so
 *   `Recordings.Example.com.` matches `recordings.example.com`, and a name never matches an IP literal.
 *   Non-canonical IPv4 spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`) are refused outright: they
 *   exist only to slip past filters.
 * - Addresses (`address-policy.ts`): the host name is resolved once per hop, every address it
 *   resolves to is checked (loopback, private, link-local, … are refused unless
 *   `allowedAddresses` or an IP-literal allow-list entry allows them), and the connection goes to
 *   the checked address, so a name cannot re-bind to another address between check and connect.
 *   TLS SNI, certificate checks and the Host header still use the name.
 * - Redirects are followed by hand (at most {@link MAX_REDIRECTS}), each hop checked like the first.
 * - Size limit: a `Content-Length` above `maxBytes` is refused before reading; the streamed byte
 *   count is enforced too (a server may lie or omit the header).
 * - Time limit: `timeoutMs` covers the whole download, headers and body.
 * - The body streams to `<destPath>.part` and is renamed to `destPath` when complete, so a crash
 *   never leaves a truncated file under the final name.
 *
 * Errors are {@link StageError}s with stage `download`: 4xx (but 408/425/429), a refused URL or
 * address, or an oversized body are permanent; 5xx, network errors, timeouts and a full disk
 * (ENOSPC: the reason says so, and the call is retried once space is freed) are retryable.
 */
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { dirname } from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AddressRefusedError, parseAllowedAddresses, resolveAllowedAddress, systemResolveAll, type PinnedAddress, type ResolveAll } from "./address-policy";
import { isDiskFull } from "../../store/disk-full";
import { isRetryableHttpStatus, isStageError, StageError } from "./errors";
import type { DownloadResult } from "./types";

/** Redirect hops followed before giving up. */
export const MAX_REDIRECTS = 5;

/** Limits and policy for {@link downloadRecording}. */
export interface DownloadOptions {
  /** Allowed hosts: `host` (any port) or `host:port`; IPv6 in brackets, e.g. `[::1]:8080`. */
  allowedHosts: readonly string[];
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Time allowed for the whole download (all hops, headers and body), in milliseconds. */
  timeoutMs: number;
  /** Aborts the download (for example on shutdown); the error is retryable. */
  signal?: AbortSignal;
  /**
   * Internal addresses (IPs or CIDRs, e.g. `10.0.0.0/8`) that names on the allow-list may resolve
   * to (CALLSCRIBE_ALLOWED_ADDRESSES). Default none: loopback, private, link-local, … are refused.
   */
  allowedAddresses?: readonly string[];
  /** Resolver (every address of a name); default the system's (`dns.lookup`). Injected by tests. */
  resolveAll?: ResolveAll;
}

const permanent = (message: string, cause?: unknown) => new StageError(message, { retryable: false, stage: "download", cause });
const transient = (message: string, cause?: unknown) => new StageError(message, { retryable: true, stage: "download", cause });

interface HostRule {
  hostname: string;
  port?: number;
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function stripTrailingDot(hostname: string): string {
  return hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
}

/**
 * Parse allow-list entries.
 * @throws StageError (permanent) naming an entry that is not a bare host or host:port
 */
export function parseAllowedHosts(entries: readonly string[]): HostRule[] {
  return entries
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((entry) => {
      let parsed: URL;
      try {
        parsed = new URL(`http://${entry}`);
      } catch {
        throw permanent(`allowed host entry "${entry}" is not a host or host:port`);
      }
      if (parsed.username || parsed.password || parsed.pathname !== "/" || parsed.search || parsed.hash) {
        throw permanent(`allowed host entry "${entry}" must be a bare host or host:port`);
      }
      // new URL drops ":80" for http; read the port from the text so "host:80" stays port-specific.
      const portMatch = /:(\d+)$/.exec(entry);
      return { hostname: stripTrailingDot(parsed.hostname), port: portMatch ? Number(portMatch[1]) : undefined };
    });
}

/** The host exactly as written in the URL text (before normalisation), lower-cased. */
function rawHostOf(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#\\]*@)?(\[[^\]]*\]|[^:/?#\\]*)/i.exec(url.trim());
  return m?.[1].toLowerCase();
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Check one URL against the policy and return it parsed.
 * @throws StageError (permanent) saying why the URL is refused
 */
export function checkRecordingUrl(url: string, rules: readonly HostRule[]): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw permanent("recording_url is not a valid absolute URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw permanent(`recording_url scheme ${parsed.protocol} is not allowed (only http and https)`);
  }
  if (parsed.username || parsed.password) throw permanent("recording_url must not contain credentials");
  const hostname = stripTrailingDot(parsed.hostname);
  const raw = rawHostOf(url);
  if (IPV4.test(hostname) && raw !== undefined && stripTrailingDot(raw) !== hostname) {
    throw permanent(`recording_url host "${raw}" is a non-canonical IP address form`);
  }
  const port = parsed.port ? Number(parsed.port) : DEFAULT_PORTS[parsed.protocol];
  const allowed = rules.some((r) => r.hostname === hostname && (r.port === undefined || r.port === port));
  if (!allowed) throw permanent(`recording_url host ${parsed.host} is not in the allowed hosts`);
  return parsed;
}

/** Counts bytes through the stream and fails once `maxBytes` is passed. */
class ByteLimit extends Transform {
  bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) done(permanent(`recording is larger than the limit of ${this.maxBytes} bytes`));
    else done(null, chunk);
  }
}

/**
 * Download `url` to `destPath` (its folder is created).
 * @returns the final path, the byte count and the response's Content-Type
 * @throws StageError (stage `download`): permanent for a refused URL or redirect, a 4xx other than
 *   408/425/429, a body over `maxBytes` or too many redirects; retryable for 5xx, 408/425/429,
 *   network errors, a timeout or an abort
 */
export async function downloadRecording(url: string, destPath: string, options: DownloadOptions): Promise<DownloadResult> {
  const rules = parseAllowedHosts(options.allowedHosts);
  if (rules.length === 0) throw permanent("no allowed hosts are configured: every recording_url is refused");
  let allowedAddresses;
  try {
    allowedAddresses = parseAllowedAddresses(options.allowedAddresses ?? []);
  } catch (err) {
    throw permanent((err as Error).message);
  }
  const resolveAll = options.resolveAll ?? systemResolveAll;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const partPath = `${destPath}.part`;

  const failure = (err: unknown): StageError => {
    if (isStageError(err)) return err;
    if (timeout.aborted) return transient(`download timed out after ${options.timeoutMs} ms`, err);
    if (options.signal?.aborted) return transient("download was aborted", err);
    const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
    if (isDiskFull(err)) {
      // The recording is still there: retried (with backoff) until space is freed.
      return transient(`download failed: the disk is full (no space left on device) writing ${dirname(destPath)}`, err);
    }
    return transient(`download failed: network error${code ? ` (${code})` : ""}`, err);
  };

  try {
    let current = checkRecordingUrl(url, rules);
    for (let hop = 0; ; hop++) {
      let pinned: PinnedAddress;
      try {
        pinned = await resolveAllowedAddress(current.hostname, allowedAddresses, resolveAll);
      } catch (err) {
        if (err instanceof AddressRefusedError) throw permanent(`${hop > 0 ? "redirect refused: " : ""}recording_url host ${err.message}`);
        const code = (err as { code?: string }).code;
        throw transient(`cannot resolve ${current.hostname}${code ? ` (${code})` : ""}`, err);
      }
      const response = await requestPinned(current, pinned, signal);
      const status = response.statusCode ?? 0;
      const header = (name: string) => {
        const v = response.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      if (REDIRECT_STATUSES.has(status)) {
        response.destroy();
        const location = header("location");
        if (!location) throw permanent(`redirect ${status} from ${current.host} has no Location header`);
        if (hop >= MAX_REDIRECTS) throw permanent(`too many redirects (more than ${MAX_REDIRECTS})`);
        let next: string;
        try {
          next = new URL(location, current).href;
        } catch {
          throw permanent(`redirect from ${current.host} has an invalid Location`);
        }
        try {
          current = checkRecordingUrl(next, rules);
        } catch (err) {
          throw permanent(`redirect refused: ${(err as Error).message.replace(/^recording_url/, "target")}`);
        }
        continue;
      }
      if (status < 200 || status > 299) {
        response.destroy();
        // Host only: the stored reason is in clear, and a recording's path may name a person (e.g. a phone number).
        const message = `recording server answered HTTP ${status} for ${current.host}`;
        throw isRetryableHttpStatus(status) ? transient(message) : permanent(message);
      }
      const declared = Number(header("content-length") ?? NaN);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        response.destroy();
        throw permanent(`recording is ${declared} bytes, over the limit of ${options.maxBytes} bytes`);
      }
      await mkdir(dirname(destPath), { recursive: true });
      const limit = new ByteLimit(options.maxBytes);
      await pipeline(response, limit, createWriteStream(partPath), { signal });
      await rename(partPath, destPath);
      const contentType = header("content-type");
      return { path: destPath, bytes: limit.bytes, ...(contentType ? { contentType } : {}) };
    }
  } catch (err) {
    await rm(partPath, { force: true }).catch(() => undefined);
    throw failure(err);
  }
}

/**
 * One GET of `url` over a connection to `pinned` (never to whatever the name resolves to later);
 * the Host header, TLS SNI and the certificate check use the URL's host name.
 * @returns the response once its headers arrived (the body is not read)
 */
function requestPinned(url: URL, pinned: PinnedAddress, signal: AbortSignal): Promise<IncomingMessage> {
  const lookup: LookupFunction = (_hostname, opts, callback) => {
    // net.connect asks for every address when it may try several families (autoSelectFamily).
    if ((opts as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const options: RequestOptions = {
    method: "GET",
    signal,
    lookup,
    // A fresh connection each time: a pooled socket is keyed by host name, not by the checked address.
    agent: false,
    headers: { accept: "audio/*, application/octet-stream;q=0.9, */*;q=0.5", "user-agent": "callscribe-recording-downloader" },
  };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, options, resolve);
    req.once("error", reject);
    req.end();
  });
}
