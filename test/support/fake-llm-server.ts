/**
 * A fake OpenAI-compatible LLM endpoint (`POST /v1/chat/completions`) for the analyze stage's
 * optional LLM path: no model can run here, so this answers with what each test scripts. It
 * records the requests so tests can check what was sent.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What the fake answers for one request: a chat completion with `content`, or a raw status/body. */
export type FakeLlmReply = { content: string } | { status: number; body: string };

/** A running fake LLM. */
export interface FakeLlmServer {
  /** `http://127.0.0.1:<port>/v1` */
  baseUrl: string;
  /** Parsed request bodies. */
  requests: Record<string, unknown>[];
  /** Set what the next requests get. */
  reply: (r: FakeLlmReply) => void;
  close(): Promise<void>;
}

/** Start the fake on 127.0.0.1 and a free port. */
export async function startFakeLlmServer(initial: FakeLlmReply): Promise<FakeLlmServer> {
  let current = initial;
  const requests: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        res.writeHead(404).end();
        return;
      }
      requests.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
      const reply = current;
      if ("status" in reply) {
        res.writeHead(reply.status, { "content-type": "application/json" }).end(reply.body);
        return;
      }
      const body = {
        id: `chatcmpl-fake-${requests.length}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: "fake-model",
        choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: reply.content } }],
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    reply: (r) => {
      current = r;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
