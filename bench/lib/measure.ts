/**
 * Measurement helpers shared by the benchmarks (`bench/live.ts`, `bench/asr.ts`): process CPU and
 * peak memory from /proc, final-result latency, percentiles, a free port, table printing.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import type { StreamOutcome } from "../../src/eval/live-client";
import type { ResultsMessage } from "../../src/server/speech/protocol";

const CLOCK_TICKS = 100; // Linux USER_HZ

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
}

/** Peak resident set size of a process in MiB (VmHWM). */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Latency of each final Results with words, ms: receipt time − send time of the chunk holding its
 * last word's end (the moment a live source would have delivered that audio).
 * @param chunkMs length of each sent chunk, ms
 */
export function finalLatencies(out: StreamOutcome, chunkMs: number): number[] {
  const latencies: number[] = [];
  out.messages.forEach((m, i) => {
    if (m.type !== "Results") return;
    const r = m as unknown as ResultsMessage;
    const ws = r.channel.alternatives[0]?.words ?? [];
    if (!r.is_final || ws.length === 0) return;
    const lastEnd = ws[ws.length - 1]!.end;
    const chunk = Math.min(out.sentAt.length - 1, Math.floor((lastEnd * 1000) / chunkMs));
    latencies.push(out.arrivals[i]! - out.sentAt[Math.max(0, chunk)]!);
  });
  return latencies;
}

/** Nearest-rank percentile (`p` in 0–100); NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A ratio (0.123) as a percentage ("12.3%"); "n/a" when not finite. */
export function fmtPct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "n/a";
}

/** Milliseconds rounded ("42 ms"); "n/a" when not finite. */
export function fmtMs(x: number): string {
  return Number.isFinite(x) ? `${Math.round(x)} ms` : "n/a";
}

/** One line describing the machine: CPU model, cores, memory, Node, load average. */
export function machine(): string {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  const load = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  return `CPU: ${model}; cores: ${os.availableParallelism()}; memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}; load average at start: ${load}`;
}

/** A plain-text table: first row is the header; first column left-aligned, the rest right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
      return i === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
    })
    .join("\n");
}
