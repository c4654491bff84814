/**
 * A local HTTP server playing a CRM's webhook endpoint for delivery tests. It verifies each
 * delivery's Standard Webhooks signature with the shared secret (401 when it fails), can fail the
 * first N deliveries with a chosen status, records every attempt, and stores a record per
 * `webhook-id` (a repeat of a stored id answers the same record: the idempotency CRMs implement).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook } from "../../src/server/webhooks/signing";

/** One request the CRM received. */
export interface CrmAttempt {
  headers: Record<string, string | string[] | undefined>;
  /** Raw body as received. */
  rawBody: string;
  /** Whether the signature verified. */
  verified: boolean;
  /** The status answered. */
  status: number;
}

/** Options of {@link startCrmServer}. */
export interface CrmServerOptions {
  /** `whsec_…` secret shared with Callscribe. */
  secret: string;
  /** Fail this many verified deliveries before accepting (default 0). */
  failFirst?: number;
  /** Status used for those failures (default 503). */
  failStatus?: number;
}

/** A running CRM endpoint. */
export interface CrmServer {
  /** The webhook URL, `http://127.0.0.1:<port>/webhooks/callscribe`. */
  url: string;
  attempts: CrmAttempt[];
  /** Stored records by `webhook-id`: the parsed body. */
  records: Map<string, { recordId: string; body: unknown }>;
  close(): Promise<void>;
}

/** Start the CRM endpoint on 127.0.0.1 and a free port. */
export async function startCrmServer(options: CrmServerOptions): Promise<CrmServer> {
  let failuresLeft = options.failFirst ?? 0;
  const attempts: CrmAttempt[] = [];
  const records = new Map<string, { recordId: string; body: unknown }>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      const answer = (status: number, body: unknown, verified: boolean) => {
        attempts.push({ headers: req.headers, rawBody, verified, status });
        const text = JSON.stringify(body);
        res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
        res.end(text);
      };
      if (req.method !== "POST" || req.url !== "/webhooks/callscribe") return answer(404, { error: "not found" }, false);
      let id: string;
      try {
        id = verifyWebhook(options.secret, req.headers, rawBody).id;
      } catch (err) {
        return answer(401, { error: (err as Error).message }, false);
      }
      if (failuresLeft > 0) {
        failuresLeft--;
        return answer(options.failStatus ?? 503, { error: "temporarily unavailable" }, true);
      }
      let record = records.get(id);
      if (!record) {
        record = { recordId: `crm-${records.size + 1}`, body: JSON.parse(rawBody) };
        records.set(id, record);
      }
      answer(201, { id: record.recordId }, true);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/callscribe`,
    attempts,
    records,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
