/**
 * The speech server with the FakeCountingEngine (`fake-counting-engine.ts`), as a program for a
 * child process, so a test can read the server's own VmRSS. Reads `PORT`; serves on 127.0.0.1
 * until killed; prints `listening` on stdout when ready.
 */
import { buildServer } from "../../src/server/app";
import { FakeCountingEngine } from "./fake-counting-engine";

const app = buildServer({ engine: new FakeCountingEngine() });
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
console.log("listening");
