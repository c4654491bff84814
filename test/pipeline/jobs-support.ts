/**
 * Shared parts of the job tests: corpus paths, a local recording server, a local CRM endpoint
 * (verifies our signature, can fail the first N deliveries), config, polling, child processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyWebhook } from "../../src/server/webhooks/signing";
import type { PipelineConfig } from "../../src/server/config";
import type { CrmPayload } from "../../src/server/crm/connector";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CORPUS_DIR = process.env.CALLSCRIBE_CORPUS_DIR ?? resolve(REPO_ROOT, "../shared/corpus");

/** Real corpus recordings used here, with their reference texts (debian_pocketsphinx/manifest.csv). */
export const RECORDINGS = {
  short: { file: "debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0880.wav", reference: "he was not an ill disposed young man" },
  long: {
    file: "debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
    reference: "and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them",
  },
} as const;

export const readCorpus = (rel: string) => readFileSync(resolve(CORPUS_DIR, rel));

/** Share of the reference's words that the hypothesis contains (a coarse check that speech was recognised). */
export function wordRecall(hypothesis: string, reference: string): number {
  const hyp = new Set(hypothesis.toLowerCase().match(/[a-z']+/g) ?? []);
  const ref = reference.toLowerCase().match(/[a-z']+/g) ?? [];
  return ref.filter((w) => hyp.has(w)).length / ref.length;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return (server.address() as { port: number }).port;
}

/** Serves `files` (name → bytes) at `/<name>`; anything else is 404. */
export async function startRecordingServer(files: Record<string, Uint8Array>) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? "/").slice(1));
    requests.push(name);
    const body = files[name];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "audio/wav", "content-length": body.length }).end(body);
  });
  const port = await listen(server);
  return {
    host: `127.0.0.1:${port}`,
    url: (name: string) => `http://127.0.0.1:${port}/${encodeURIComponent(name)}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** One POST the CRM received. `accepted` false when it answered with an error on purpose. */
export interface CrmHit {
  callId: string;
  at: number;
  accepted: boolean;
  payload: CrmPayload;
}

/**
 * A CRM endpoint: verifies the Standard Webhooks signature (401 when wrong), answers 503 to the
 * first `failFirst` deliveries of each call (all of them when `failAlways`), then 200 `{id}`.
 */
export async function startCrmServer(secret: string, opts: { failFirst?: number; failAlways?: boolean } = {}) {
  const hits: CrmHit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      try {
        verifyWebhook(secret, req.headers, raw);
      } catch {
        return void res.writeHead(401).end();
      }
      const payload = JSON.parse(raw.toString("utf8")) as CrmPayload;
      const before = hits.filter((h) => h.callId === payload.call_id).length;
      const fail = opts.failAlways || before < (opts.failFirst ?? 0);
      hits.push({ callId: payload.call_id, at: Date.now(), accepted: !fail, payload });
      if (fail) return void res.writeHead(503).end("busy");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: `crm-${payload.call_id}` }));
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/calls`,
    hits,
    accepted: (callId: string) => hits.filter((h) => h.callId === callId && h.accepted).length,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A fresh Standard Webhooks secret. */
export const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

/** A pipeline config for tests. */
export function testConfig(over: Partial<PipelineConfig> & Pick<PipelineConfig, "dataDir">): PipelineConfig {
  return {
    allowedHosts: [],
    allowedAddresses: [],
    encryptionKey: randomBytes(32),
    encryptionKeySource: "env",
    audioRetentionDays: 30,
    topics: ["Sales Inquiry", "Support Request", "Complaint", "Billing"],
    maxRecordingBytes: 50 * 1024 * 1024,
    downloadTimeoutMs: 10_000,
    workers: 1,
    queueAlertDepth: 500,
    ...over,
  };
}

/** Poll `fn` every 100 ms until it returns a truthy value; rejects after `timeoutMs` with `what`. */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A child Node process running a TypeScript file through tsx's loader (no wrapper process: a SIGKILL hits the worker itself). Collects JSON log lines. */
export function spawnTs(file: string, env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", file], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ text: line });
      }
    }
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const exited = new Promise<number | null>((r) => child.once("exit", (code, signal) => r(code ?? (signal ? -1 : null))));
  return { child, lines, stderr: () => stderr, exited };
}
