/**
 * The live-call bus over PostgreSQL (`DATABASE_URL`, issue 8 §5): the ingress and the subscriber
 * may sit on different server processes. Each event is a row of `live_call_events` (encrypted like
 * transcripts: AES-256-GCM, AAD `live-event:<call_id>:<seq>`), and `NOTIFY callscribe_live_calls`
 * with `<seq> <call_id>` tells listening processes to read the call's new rows. Rows, not payloads,
 * carry the events: NOTIFY payloads are limited to 8000 bytes and are lost while a listener
 * reconnects, rows are not; a subscriber reads `seq > last seen` so nothing is missed or repeated.
 *
 * Source: PostgreSQL 15 documentation, NOTIFY and LISTEN (payload limit, delivery on commit).
 * The owner removes a call's rows `keepEndedMs` after `CallEnded` (the stored call then serves late subscribers).
 */
import pg from "pg";
import type { AtRestCipher } from "../store/crypto";
import type { LiveCallBus, LiveCallListener } from "./bus";
import type { LiveCallEvent, SequencedEvent } from "./types";

/** The NOTIFY channel. */
export const LIVE_CALLS_CHANNEL = "callscribe_live_calls";

interface Subscription {
  after: number;
  listener: LiveCallListener;
  /** Reads in progress are chained, so events are delivered once and in order. */
  reading: Promise<void>;
}

const eventAad = (callId: string, seq: number) => `live-event:${callId}:${seq}`;

/** Bus adapter over a PostgreSQL server. */
export class PostgresLiveCallBus implements LiveCallBus {
  private readonly pool: pg.Pool;
  private listenClient?: pg.Client;
  private connecting?: Promise<void>;
  private readonly subscriptions = new Map<string, Set<Subscription>>();
  /** Per call, the publishing chain: rows are written in seq order. */
  private readonly publishing = new Map<string, Promise<void>>();
  private readonly forgetTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  /**
   * @param url the `DATABASE_URL`
   * @param cipher the at-rest cipher (events hold what was said)
   * @param keepEndedMs how long an ended call's rows stay, ms. Default 10 min.
   */
  constructor(
    private readonly url: string,
    private readonly cipher: AtRestCipher,
    private readonly keepEndedMs = 10 * 60_000,
    private readonly onError: (err: Error) => void = (err) => console.error(`live-call bus: ${err.message}`),
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: 4, application_name: "callscribe-live-calls" });
    this.pool.on("error", (err) => this.onError(err));
  }

  /** The LISTEN connection, opened once; on loss it reconnects and every subscription re-reads its rows. */
  private ensureListening(): Promise<void> {
    if (this.listenClient) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, application_name: "callscribe-live-calls-listen" });
      client.on("notification", (n) => {
        if (n.channel !== LIVE_CALLS_CHANNEL || !n.payload) return;
        const space = n.payload.indexOf(" ");
        const callId = n.payload.slice(space + 1);
        for (const sub of this.subscriptions.get(callId) ?? []) this.read(callId, sub);
      });
      client.on("error", (err) => {
        this.onError(err);
        this.listenClient = undefined;
        this.connecting = undefined;
        if (!this.closed) {
          setTimeout(() => {
            void this.ensureListening()
              .then(() => {
                for (const [callId, subs] of this.subscriptions) for (const sub of subs) this.read(callId, sub);
              })
              .catch((e: Error) => this.onError(e));
          }, 1000).unref();
        }
      });
      await client.connect();
      await client.query(`LISTEN ${LIVE_CALLS_CHANNEL}`);
      this.listenClient = client;
    })().catch((err: Error) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async publish(callId: string, e: SequencedEvent): Promise<void> {
    const prev = this.publishing.get(callId) ?? Promise.resolve();
    const next = prev.then(async () => {
      const sealed = this.cipher.seal(Buffer.from(JSON.stringify(e.event), "utf8"), eventAad(callId, e.seq));
      await this.pool.query("INSERT INTO live_call_events (call_id, seq, event) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [callId, e.seq, sealed]);
      await this.pool.query("SELECT pg_notify($1, $2)", [LIVE_CALLS_CHANNEL, `${e.seq} ${callId}`]);
      if (e.event.type === "CallEnded") {
        const timer = setTimeout(() => {
          this.forgetTimers.delete(timer);
          void this.forget(callId).catch((err: Error) => this.onError(err));
        }, this.keepEndedMs);
        timer.unref();
        this.forgetTimers.add(timer);
      }
    });
    const settled = next.catch((err: Error) => this.onError(err));
    this.publishing.set(callId, settled);
    void settled.then(() => {
      if (this.publishing.get(callId) === settled) this.publishing.delete(callId);
    });
    return next;
  }

  async subscribe(callId: string, after: number, listener: LiveCallListener): Promise<() => void> {
    await this.ensureListening();
    const sub: Subscription = { after, listener, reading: Promise.resolve() };
    let subs = this.subscriptions.get(callId);
    if (!subs) {
      subs = new Set();
      this.subscriptions.set(callId, subs);
    }
    subs.add(sub);
    this.read(callId, sub);
    await sub.reading;
    return () => {
      subs!.delete(sub);
      if (subs!.size === 0) this.subscriptions.delete(callId);
    };
  }

  /** Read the rows after what the subscriber has seen and deliver them, after any read in progress. */
  private read(callId: string, sub: Subscription): void {
    sub.reading = sub.reading.then(async () => {
      if (this.closed) return;
      const { rows } = await this.pool.query<{ seq: number; event: Uint8Array }>(
        "SELECT seq, event FROM live_call_events WHERE call_id = $1 AND seq > $2 ORDER BY seq LIMIT 10000",
        [callId, sub.after],
      );
      const events = rows.map((r) => ({ seq: r.seq, event: JSON.parse(this.cipher.open(r.event, eventAad(callId, r.seq)).toString("utf8")) as LiveCallEvent }));
      // On replay an interim superseded by a later result of its channel is skipped.
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        sub.after = Math.max(sub.after, e.seq);
        if (e.event.type === "Results" && !e.event.is_final) {
          const ch = e.event.channel_index[0];
          if (events.slice(i + 1).some((x) => x.event.type === "Results" && x.event.channel_index[0] === ch)) continue;
        }
        sub.listener(e);
      }
    }).catch((err: Error) => this.onError(err));
  }

  async knows(callId: string): Promise<boolean> {
    const { rows } = await this.pool.query("SELECT 1 FROM live_call_events WHERE call_id = $1 LIMIT 1", [callId]);
    return rows.length > 0;
  }

  async forget(callId: string): Promise<void> {
    await this.pool.query("DELETE FROM live_call_events WHERE call_id = $1", [callId]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.forgetTimers) clearTimeout(t);
    await Promise.allSettled([...this.publishing.values()]);
    await this.listenClient?.end().catch(() => undefined);
    if (!this.pool.ended) await this.pool.end();
  }
}
