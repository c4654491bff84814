/**
 * Transcript library search benchmark (`npm run bench:search`, issue 9 §7).
 *
 * Loads `--count` transcripts (default 100 000) into the library (`src/server/library/store.ts`,
 * the same `add` path as `POST /v1/transcripts`: validation excepted, sealing and indexing
 * included) on PGlite and on a throw-away PostgreSQL 15 (`test/support/postgres.ts`), then times
 * searches. The transcripts are built from the corpus's reference texts (read_en,
 * debian_pocketsphinx, telephony_8k, calls_conversational): each is 3–8 reference sentences drawn at
 * random (seeded) and recombined, so the vocabulary and word frequencies are real speech, while
 * the calls themselves are synthetic. Participants, dates (one year), source, topic, sentiment and
 * engine are drawn at random too.
 *
 * Prints the ingest rate, and search latency p50/p95 (ms, one query at a time, first page of 20,
 * snippets included) for: common words (the most frequent content words), rare words (words of one
 * corpus sentence), participant names, misspellings (one letter dropped; the trigram fallback),
 * and filtered queries (a common word with source, sentiment and a one-month range).
 *
 * Options:
 *   --count N      transcripts to load (default 100000)
 *   --db a,b       pglite, postgres (default both)
 *   --queries N    queries per kind (default 100)
 *   --concurrency N  ingest concurrency on PostgreSQL (default 8; PGlite is one connection)
 *   --keep         leave the PostgreSQL server running with the data (URL printed), to look at plans
 * Results are also written to .bench/search-<time>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifest } from "../src/eval/corpus";
import { participantHmacKey, TranscriptLibrary, type SearchQuery } from "../src/server/library/store";
import { createAtRestCipher } from "../src/server/store/crypto";
import { openPgliteDatabase, openPostgresDatabase, type Database } from "../src/server/store/database";
import { migrate } from "../src/server/store/migrations";
import type { Transcript } from "../src/contracts";
import { startTestPostgres } from "../test/support/postgres";
import { fmtMs, machine, percentile, table } from "./lib/measure";

interface Args {
  count: number;
  dbs: ("pglite" | "postgres")[];
  queries: number;
  concurrency: number;
  /** Leave the PostgreSQL server running with the data (its URL is printed), to look at plans. */
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { count: 100_000, dbs: ["pglite", "postgres"], queries: 100, concurrency: 8, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === "--count") args.count = Number(v);
    else if (argv[i] === "--db") args.dbs = v.split(",") as Args["dbs"];
    else if (argv[i] === "--queries") args.queries = Number(v);
    else if (argv[i] === "--concurrency") args.concurrency = Number(v);
    else if (argv[i] === "--keep") {
      args.keep = true;
      continue;
    } else continue;
    i++;
  }
  if (!(args.count >= 1) || !(args.queries >= 1) || args.dbs.some((d) => d !== "pglite" && d !== "postgres")) throw new Error("usage: bench/search.ts [--count N] [--db pglite,postgres] [--queries N] [--concurrency N]");
  return args;
}

/** Mulberry32: a small seeded PRNG, so every run loads the same transcripts. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STOP = new Set("a an and are as at be but by for from had has have he her his i in is it its of on or she that the their them they this to was we were which will with you your not no so if then than there".split(" "));
const FIRST = ["Jane", "John", "Maria", "Ahmed", "Wei", "Olga", "Pedro", "Aisha", "Tom", "Yuki", "Lars", "Fatima", "Ivan", "Chloe", "Raj", "Nora"];
const LAST = ["Doe", "Smith", "Garcia", "Khan", "Chen", "Petrova", "Silva", "Okafor", "Brown", "Tanaka", "Larsen", "Haddad", "Ivanov", "Martin", "Patel", "Berg", "Dashwood", "Ferrars", "Quilter", "Steele"];
const TOPICS = ["Sales Inquiry", "Support Request", "Complaint", "Billing"];
const SENTIMENTS = ["positive", "neutral", "negative"] as const;
const SOURCES = ["call", "dictation", "recording"] as const;
const ENGINES = ["pocketsphinx", "whisper", "deepgram"];
const YEAR_START = Date.UTC(2026, 0, 1);

/** English reference sentences of the corpus. */
function corpusSentences(): string[] {
  const out: string[] = [];
  for (const set of ["read_en", "debian_pocketsphinx", "telephony_8k", "calls_conversational"]) {
    for (const e of loadManifest(set)) {
      const text = e.referenceText;
      for (const s of text.split(/(?<=[.!?;])\s+/)) if (s.split(/\s+/).length >= 3) out.push(s.trim());
    }
  }
  return [...new Set(out)];
}

function makeTranscript(i: number, rnd: () => number, sentences: string[]): Transcript {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const n = 3 + Math.floor(rnd() * 6);
  const text = Array.from({ length: n }, () => pick(sentences)).join(" ");
  const start = YEAR_START + Math.floor(rnd() * 365 * 86_400_000);
  const duration = Math.round(text.split(/\s+/).length * 0.4 * 10) / 10;
  const name = `${pick(FIRST)} ${pick(LAST)}`;
  const label = pick(SENTIMENTS);
  return {
    type: "fdc3.transcript",
    id: { transcriptId: `bench-${i}`, callId: `bench-call-${i}` },
    source: pick(SOURCES),
    participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", name, id: { email: `${name.toLowerCase().replace(" ", ".")}${i % 1000}@example.com` } }] },
    timeRange: { type: "fdc3.timeRange", startTime: new Date(start).toISOString(), endTime: new Date(start + duration * 1000).toISOString() },
    language: "en",
    text,
    summary: text.split(/\s+/).slice(0, 12).join(" "),
    topics: [pick(TOPICS)],
    sentiment: { label, score: label === "positive" ? 0.6 : label === "negative" ? -0.6 : 0 },
    keyPhrases: [],
    provider: { name: pick(ENGINES) },
    duration,
  } as unknown as Transcript;
}

/** Content words by how many sentences hold them. */
function vocabulary(sentences: string[]): { common: string[]; rare: string[] } {
  const df = new Map<string, number>();
  for (const s of sentences) {
    for (const w of new Set(s.toLowerCase().match(/[a-z]{4,}/g) ?? [])) if (!STOP.has(w)) df.set(w, (df.get(w) ?? 0) + 1);
  }
  const byDf = [...df.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { common: byDf.slice(0, 10).map(([w]) => w), rare: byDf.filter(([, n]) => n === 1).map(([w]) => w) };
}

async function timeQueries(lib: TranscriptLibrary, queries: SearchQuery[]): Promise<{ p50: number; p95: number; hits: number }> {
  // Warm-up: the first query pays for plans and caches.
  await lib.search(queries[0]!);
  const ms: number[] = [];
  let hits = 0;
  for (const q of queries) {
    const t0 = performance.now();
    const page = await lib.search(q);
    ms.push(performance.now() - t0);
    hits += page.hits.length;
  }
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), hits: hits / queries.length };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const header = machine();
  console.log(header);
  const sentences = corpusSentences();
  const { common, rare } = vocabulary(sentences);
  console.log(`${sentences.length} corpus reference sentences; ${args.count} transcripts of 3–8 of them; ${rare.length} rare words (in one sentence each)`);
  const key = Buffer.alloc(32, 42);
  const rows: string[][] = [["database", "ingest/s", "common p50", "common p95", "rare p50", "rare p95", "name p50", "name p95", "typo p50", "typo p95", "filtered p50", "filtered p95"]];
  const results: Record<string, unknown> = {};
  for (const kind of args.dbs) {
    let db: Database;
    let cleanup: () => Promise<void>;
    if (kind === "pglite") {
      const dir = mkdtempSync(join(tmpdir(), "callscribe-bench-search-"));
      db = await openPgliteDatabase(dir);
      cleanup = async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      };
    } else {
      const pg = await startTestPostgres();
      const url = await pg.createDatabase("bench_search");
      db = await openPostgresDatabase(url, { max: args.concurrency + 2 });
      cleanup = async () => {
        await db.close();
        if (args.keep) console.log(`  postgres left running: ${url}`);
        else await pg.stop();
      };
    }
    try {
      await migrate(db);
      const lib = new TranscriptLibrary(db, createAtRestCipher(key), participantHmacKey(key));
      const rnd = prng(20261202);
      const concurrency = kind === "pglite" ? 1 : args.concurrency;
      const t0 = performance.now();
      let next = 0;
      let lastReport = t0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (;;) {
            const i = next++;
            if (i >= args.count) return;
            await lib.add(makeTranscript(i, rnd, sentences));
            if (performance.now() - lastReport > 10_000) {
              lastReport = performance.now();
              console.log(`  ${kind}: ${i + 1} loaded (${Math.round((i + 1) / ((lastReport - t0) / 1000))}/s)`);
            }
          }
        }),
      );
      const ingestSec = (performance.now() - t0) / 1000;
      // Words PostgreSQL's English configuration drops (stop words such as "more") are not searched words.
      const searchable = async (ws: string[]) =>
        (await db.query<{ w: string }>("SELECT w FROM unnest($1::text[]) w WHERE numnode(plainto_tsquery('english', w)) > 0", [ws])).rows.map((r) => r.w);
      const commonWords = await searchable(common);
      const rareWords = await searchable(rare);
      const ingestRate = args.count / ingestSec;
      if (kind === "postgres") await db.query("ANALYZE transcripts");
      const qrnd = prng(7);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(qrnd() * xs.length)]!;
      const N = args.queries;
      const kinds: Record<string, SearchQuery[]> = {
        common: Array.from({ length: N }, () => ({ q: pick(commonWords), limit: 20 })),
        rare: Array.from({ length: N }, () => ({ q: pick(rareWords), limit: 20 })),
        name: Array.from({ length: N }, () => ({ q: `${pick(FIRST)} ${pick(LAST)}`, limit: 20 })),
        typo: Array.from({ length: N }, () => {
          const w = pick(rareWords.filter((x) => x.length >= 7));
          return { q: w.slice(0, 3) + w.slice(4), limit: 20 };
        }),
        filtered: Array.from({ length: N }, () => {
          const month = Math.floor(qrnd() * 12);
          return {
            q: pick(commonWords),
            source: pick(SOURCES),
            sentiment: pick(SENTIMENTS),
            from: new Date(Date.UTC(2026, month, 1)).toISOString(),
            to: new Date(Date.UTC(2026, month + 1, 1)).toISOString(),
            limit: 20,
          };
        }),
      };
      const timed: Record<string, { p50: number; p95: number; hits: number }> = {};
      for (const [name, qs] of Object.entries(kinds)) timed[name] = await timeQueries(lib, qs);
      results[kind] = { count: args.count, ingestSec, ingestRate, commonWords, ...timed };
      console.log(`  ${kind}: common words searched: ${commonWords.join(", ")}`);
      rows.push([
        kind,
        ingestRate.toFixed(0),
        ...["common", "rare", "name", "typo", "filtered"].flatMap((k) => [fmtMs(timed[k]!.p50), fmtMs(timed[k]!.p95)]),
      ]);
      console.log(`  ${kind}: ${args.count} transcripts in ${ingestSec.toFixed(1)} s; mean hits per query: ${Object.entries(timed).map(([k, v]) => `${k} ${v.hits.toFixed(1)}`).join(", ")}`);
    } finally {
      await cleanup();
    }
  }
  console.log(`\n${args.count} transcripts, ${args.queries} queries per kind, one at a time, first page of 20 with snippets\n`);
  console.log(table(rows));
  mkdirSync(".bench", { recursive: true });
  const file = `.bench/search-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ machine: header, args, results }, null, 2));
  console.log(`\nwritten to ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
