/**
 * Raw HTTP/1.1 over a TCP socket, for tests that must send a request line byte for byte:
 * `fetch` and `inject` normalise paths (`/x/../v1`, `//v1`), the server's router sees what a
 * real attacker sends.
 */
import { connect } from "node:net";

/** A raw response: status code (0 when the server closed without answering), headers, body text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Send `method path` with `headers` and `body` to 127.0.0.1:`port` and read the answer until the
 * server closes the connection (`connection: close` is sent) or `timeoutMs` passes.
 */
export function rawRequest(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const head = { host: `127.0.0.1:${port}`, connection: "close", ...(payload ? { "content-length": String(payload.length) } : {}), ...headers };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${method} ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => undefined); // a refused request may be reset while we still write the body
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks).toString("latin1")));
    });
    socket.write(`${method} ${path} HTTP/1.1\r\n${Object.entries(head).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`);
    if (payload) socket.write(payload);
  });
}

/** A WebSocket upgrade request for `path`; resolves with the status line's code (101 = upgraded). */
export async function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade of ${path}`));
    }, 15_000);
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      // 101 keeps the socket open: the status line and headers are enough.
      if (text.includes("\r\n\r\n") && text.startsWith("HTTP/1.1 101")) socket.destroy();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseResponse(text));
    });
    const head = {
      host: `127.0.0.1:${port}`,
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      ...headers,
    };
    socket.write(`GET ${path} HTTP/1.1\r\n${Object.entries(head).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`);
  });
}

function parseResponse(text: string): RawResponse {
  const end = text.indexOf("\r\n\r\n");
  const headText = end >= 0 ? text.slice(0, end) : text;
  const [statusLine, ...lines] = headText.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: m ? Number(m[1]) : 0, headers, body: end >= 0 ? text.slice(end + 4) : "" };
}
