/**
 * The transcriber's library outbox (issue 9 §1): every finished live call and dictation goes to
 * the transcript library (`POST /v1/transcripts`), and every CRM answer to a save of it
 * (`POST /v1/transcripts/:id/saves`), through this queue kept in IndexedDB (via `idb`), so that
 * nothing is lost when the server is down, answers 5xx, or the page is closed meanwhile: an item
 * leaves the outbox only once the server has stored it.
 *
 * - Order: items are sent oldest first. A save needs the library's id of its transcript: the id
 *   the transcript's upload returned (kept in store `stored`), else the save posts the transcript
 *   first (the server is first-wins on `transcriptId`, so that adds no copy).
 * - Retries: a retryable failure (see `upload.ts`) waits `baseMs · 2^(attempts−1)` (at most
 *   `maxMs`, times a random 0.5–1 so that many clients do not retry in step), for ever: a
 *   transcript is never dropped. Also retried at once when the browser goes back online.
 * - A failure that would repeat (400 with the schema's reason, 413, …) is kept, marked rejected
 *   with the reason, and not retried.
 * - Several transcriber windows share one outbox: a Web Lock (`navigator.locks`, where present)
 *   lets one of them send at a time.
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import type { Transcript } from "../../contracts";
import { postSave, postTranscript, type UploadTarget } from "./upload";

/** One queued write. `nextAt`: epoch ms of the next try. */
export type OutboxItem = {
  key?: number;
  transcriptId: string;
  transcript: Transcript;
  attempts: number;
  nextAt: number;
  /** Why the last try failed. */
  reason?: string;
  /** Not retried: the server refused it for good (`reason` says why). */
  rejected?: boolean;
} & ({ kind: "transcript" } | { kind: "save"; appId: string; result: Record<string, unknown> });

interface OutboxSchema extends DBSchema {
  items: { key: number; value: OutboxItem };
  /** transcriptId → the library's id, once stored. */
  stored: { key: string; value: { transcriptId: string; libraryId: string } };
}

/** What the UI shows. */
export interface OutboxSnapshot {
  /** Items waiting to be sent (not rejected). */
  pending: number;
  /** Refused for good, with the server's reason. */
  rejected: { transcriptId: string; kind: "transcript" | "save"; reason: string }[];
  /** Why the last try failed, while items wait. */
  lastError?: string;
  /** The last transcript the library stored (its `transcriptId`), in this page's lifetime. */
  lastStored?: string;
}

/** Options of {@link LibraryOutbox.open}. */
export interface OutboxOptions {
  target: UploadTarget;
  /** IndexedDB database name. Default `callscribe-library-outbox`. */
  dbName?: string;
  /** First retry delay, ms. Default 2 000. */
  baseMs?: number;
  /** Longest retry delay, ms. Default 60 000. */
  maxMs?: number;
  now?: () => number;
  random?: () => number;
}

const LOCK_NAME = "callscribe-library-outbox";

/** The outbox; {@link LibraryOutbox.open} makes one and sends what an earlier page left. */
export class LibraryOutbox {
  private snapshot: OutboxSnapshot = { pending: 0, rejected: [] };
  private readonly listeners = new Set<() => void>();
  private running?: Promise<void>;
  private again = false;
  private timer?: ReturnType<typeof setTimeout>;
  private closed = false;
  private readonly onOnline = () => void this.flush();

  private constructor(
    private readonly db: IDBPDatabase<OutboxSchema>,
    private readonly opts: Required<Pick<OutboxOptions, "baseMs" | "maxMs" | "now" | "random">> & OutboxOptions,
  ) {}

  /** Open (or create) the outbox database and start sending. */
  static async open(options: OutboxOptions): Promise<LibraryOutbox> {
    const db = await openDB<OutboxSchema>(options.dbName ?? "callscribe-library-outbox", 1, {
      upgrade(d) {
        d.createObjectStore("items", { keyPath: "key", autoIncrement: true });
        d.createObjectStore("stored", { keyPath: "transcriptId" });
      },
    });
    const outbox = new LibraryOutbox(db, { baseMs: 2_000, maxMs: 60_000, now: Date.now, random: Math.random, ...options });
    globalThis.addEventListener?.("online", outbox.onOnline);
    await outbox.refreshSnapshot();
    void outbox.flush();
    return outbox;
  }

  /** For `useSyncExternalStore`. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): OutboxSnapshot => this.snapshot;

  /** Queue a finished transcript (once per `transcriptId`: queued or stored already, nothing changes) and send it. */
  async addTranscript(transcript: Transcript): Promise<void> {
    const transcriptId = transcript.id.transcriptId;
    const known = (await this.db.get("stored", transcriptId)) ?? (await this.db.getAll("items")).find((i) => i.kind === "transcript" && i.transcriptId === transcriptId);
    if (!known) await this.db.add("items", { kind: "transcript", transcriptId, transcript, attempts: 0, nextAt: 0 });
    await this.refreshSnapshot();
    await this.flush();
  }

  /** Queue a CRM's `fdc3.transactionResult` for `transcript`'s save history and send it. */
  async addSave(transcript: Transcript, appId: string, result: Record<string, unknown>): Promise<void> {
    await this.db.add("items", { kind: "save", transcriptId: transcript.id.transcriptId, transcript, appId, result, attempts: 0, nextAt: 0 });
    await this.refreshSnapshot();
    await this.flush();
  }

  /** Send every item that is due, oldest first; resolves when done (a call meanwhile runs again after). */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    const run = async () => {
      do {
        this.again = false;
        await (locks ? locks.request(LOCK_NAME, () => this.sendDue()) : this.sendDue());
      } while (this.again && !this.closed);
    };
    this.running = run().finally(() => {
      this.running = undefined;
      this.schedule();
    });
    return this.running;
  }

  /** Stop the timer (the queue stays in IndexedDB for the next page). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    globalThis.removeEventListener?.("online", this.onOnline);
    this.db.close();
  }

  private async sendDue(): Promise<void> {
    for (const item of await this.db.getAll("items")) {
      if (this.closed) return;
      if (item.rejected || item.nextAt > this.opts.now()) continue;
      // Another window may have sent it meanwhile.
      if (!(await this.db.get("items", item.key!))) continue;
      const outcome = await this.send(item);
      if (outcome.ok) {
        await this.db.delete("items", item.key!);
        if (item.kind === "transcript") this.snapshot = { ...this.snapshot, lastStored: item.transcriptId };
      } else {
        const attempts = item.attempts + 1;
        const delay = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** (attempts - 1)) * (0.5 + this.opts.random() / 2);
        await this.db.put("items", { ...item, attempts, reason: outcome.reason, nextAt: this.opts.now() + delay, ...(!outcome.retry && { rejected: true }) });
        this.snapshot = { ...this.snapshot, lastError: outcome.reason };
      }
      await this.refreshSnapshot();
    }
  }

  private async send(item: OutboxItem): Promise<{ ok: true } | { ok: false; retry: boolean; reason: string }> {
    let libraryId = (await this.db.get("stored", item.transcriptId))?.libraryId;
    if (!libraryId) {
      const up = await postTranscript(this.opts.target, item.transcript);
      if (!up.ok) return up;
      libraryId = up.value;
      await this.db.put("stored", { transcriptId: item.transcriptId, libraryId });
    }
    if (item.kind === "transcript") return { ok: true };
    // A 404 here: the transcript was deleted from the library since; the save is kept, rejected.
    const saved = await postSave(this.opts.target, libraryId, item.appId, item.result);
    return saved.ok ? { ok: true } : saved;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    void this.db.getAll("items").then((items) => {
      const due = items.filter((i) => !i.rejected).map((i) => i.nextAt);
      if (due.length === 0 || this.closed) return;
      this.timer = setTimeout(() => void this.flush(), Math.max(0, Math.min(...due) - this.opts.now()));
    });
  }

  private async refreshSnapshot(): Promise<void> {
    const items = await this.db.getAll("items");
    const pending = items.filter((i) => !i.rejected).length;
    const rejected = items.filter((i) => i.rejected).map((i) => ({ transcriptId: i.transcriptId, kind: i.kind, reason: i.reason ?? "refused" }));
    const { lastError, ...rest } = this.snapshot;
    this.snapshot = { ...rest, pending, rejected, ...(pending > 0 && lastError !== undefined && { lastError }) };
    for (const l of this.listeners) l();
  }
}
