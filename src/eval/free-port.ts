/**
 * A free TCP port for a process the tests or benchmarks start themselves (a server child, a
 * PostgreSQL instance). Shared harness code, like the rest of `src/eval/`.
 */
import { createServer } from "node:net";

/**
 * @returns a port on 127.0.0.1 that was free a moment ago (the OS picked it; another process could
 *   still take it before the caller binds)
 * @throws the listen error when no port can be bound
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
