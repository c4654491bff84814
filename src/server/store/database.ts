/**
 * The store port (DESIGN §2, §6): one `Database` interface, two adapters.
 * - PGlite (PostgreSQL compiled to WASM, in-process, a folder on disk): the embedded default.
 * - PostgreSQL through a `pg` Pool (`DATABASE_URL`): scale-out with any number of workers.
 * The same SQL runs on both; pg-boss runs on either through {@link Database.pgBossDb}.
 */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import pg from "pg";
import { dataDirFullError, isDiskFull } from "./disk-full";

/** Anything that runs one parameterised statement: the database, or a transaction. */
export interface Queryable {
  /** Run one statement with `$1…` parameters. Rows come back with JSON parsed, timestamps as Date, bytea as Uint8Array. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** The store port. */
export interface Database extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** Run SQL that may hold several statements and has no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Run `fn` in one transaction (BEGIN … COMMIT, ROLLBACK when it throws). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** The `db` option of pg-boss (`executeSql(text, values)`), for the database or for a transaction. */
  pgBossDb(tx?: Queryable): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> };
  /**
   * PostgreSQL LISTEN: `onNotify(payload)` for every NOTIFY on `channel` (from any process on the
   * same database), once the transaction that sent it commits. Resolves once listening.
   * PostgreSQL: a dedicated connection, reconnected after 1 s when it drops (notifications sent
   * meanwhile are lost: PostgreSQL keeps none for absent listeners, so callers re-read state
   * when `onReconnect` fires). PGlite: its own `listen`.
   * @param channel `[a-z_][a-z0-9_]*` (an unquoted identifier)
   * @returns stops listening
   * @throws Error for another channel name, or when the connection cannot be opened
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const CHANNEL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const checkChannel = (channel: string) => {
  if (!CHANNEL_NAME.test(channel)) throw new Error(`invalid LISTEN channel name ${JSON.stringify(channel)}`);
};

/**
 * Embedded PGlite in `dir` (created when missing). PGlite is one connection: its own mutex queues
 * other queries while a transaction is open, so transactions never interleave.
 */
export async function openPgliteDatabase(dir: string): Promise<Database> {
  let pglite: PGlite;
  try {
    mkdirSync(dir, { recursive: true });
    // pg_trgm (trigram similarity) for the transcript library's name and misspelling search (migration 5).
    pglite = await PGlite.create(dir, { extensions: { pg_trgm } });
  } catch (err) {
    if (isDiskFull(err)) throw dataDirFullError(dir);
    // PGlite's file-system errors carry only an errno; say where.
    if ((err as Error)?.name === "ErrnoError") throw new Error(`cannot open the embedded database in ${dir}: file system error (errno ${(err as { errno?: number }).errno})`, { cause: err });
    throw err;
  }
  const db: Database = {
    kind: "pglite",
    async query<R>(sql: string, params?: unknown[]) {
      const res = await pglite.query<R>(sql, params);
      return { rows: res.rows };
    },
    async exec(sql) {
      await pglite.exec(sql);
    },
    transaction(fn) {
      return pglite.transaction((tx) => fn({ query: async <R>(sql: string, params?: unknown[]) => ({ rows: (await tx.query<R>(sql, params)).rows }) }));
    },
    pgBossDb(tx) {
      return {
        async executeSql(text, values) {
          if (tx) return tx.query(text, values);
          // pg-boss sends its schema and migrations as several statements without parameters:
          // the extended protocol (query) refuses that, the simple protocol (exec) takes it.
          if (!values || values.length === 0) {
            const results = await pglite.exec(text);
            return { rows: results.length ? results[results.length - 1].rows : [] };
          }
          return { rows: (await pglite.query(text, values)).rows };
        },
      };
    },
    async listen(channel, onNotify) {
      checkChannel(channel);
      const unlisten = await pglite.listen(channel, onNotify);
      return async () => {
        if (!pglite.closed) await unlisten();
      };
    },
    async close() {
      if (!pglite.closed) await pglite.close();
    },
  };
  return db;
}

/** PostgreSQL at `url` through a `pg` Pool of up to `max` connections (default 10). */
export async function openPostgresDatabase(url: string, options: { max?: number } = {}): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, application_name: "callscribe" });
  // An idle client's connection can drop (server restart); log it instead of crashing the process.
  pool.on("error", (err) => console.error(`postgres pool error: ${err.message}`));
  await pool.query("SELECT 1");
  const db: Database = {
    kind: "postgres",
    async query<R>(sql: string, params?: unknown[]) {
      const res = await pool.query(sql, params);
      return { rows: res.rows as R[] };
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn({ query: async <R>(sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as R[] }) });
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    pgBossDb(tx) {
      return {
        async executeSql(text, values) {
          if (tx) return tx.query(text, values);
          // Several statements come back as an array of results; pg-boss only reads single ones.
          const res = (await pool.query(text, values)) as pg.QueryResult | pg.QueryResult[];
          return { rows: Array.isArray(res) ? (res[res.length - 1]?.rows ?? []) : res.rows };
        },
      };
    },
    listen(channel, onNotify, onReconnect) {
      checkChannel(channel);
      return listenPostgres(url, channel, onNotify, onReconnect);
    },
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
  return db;
}

/** {@link Database.listen} on PostgreSQL: one `pg.Client` per listener, reconnected when it drops. */
async function listenPostgres(url: string, channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: `callscribe-listen-${channel}` });
    c.on("notification", (n) => {
      if (n.channel === channel) onNotify(n.payload ?? "");
    });
    c.on("error", (err) => {
      console.error(`postgres LISTEN ${channel}: ${err.message}`);
      if (client === c) client = undefined;
      void c.end().catch(() => undefined);
      if (!stopped) scheduleReconnect();
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    client = c;
  };
  const scheduleReconnect = () => {
    if (retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => onReconnect?.(),
        () => !stopped && scheduleReconnect(),
      );
    }, 1000);
    retry.unref();
  };
  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
    client = undefined;
  };
}

/**
 * The configured store: PostgreSQL when `databaseUrl` is set, else PGlite in `<dataDir>/pglite`.
 * @throws ConfigError (CALLSCRIBE_DATA_DIR) naming the folder when the data directory is full
 */
export async function openDatabase(config: { dataDir: string; databaseUrl?: string }): Promise<Database> {
  return config.databaseUrl ? openPostgresDatabase(config.databaseUrl) : openPgliteDatabase(`${config.dataDir}/pglite`);
}
