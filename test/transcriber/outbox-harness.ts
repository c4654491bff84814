/** Browser entry of `library-outbox.test.ts`: the real outbox module, bundled (esbuild) for a real Chromium page. */
import { LibraryOutbox } from "../../src/transcriber/library/outbox";

(window as unknown as { outboxHarness: unknown }).outboxHarness = { LibraryOutbox };
