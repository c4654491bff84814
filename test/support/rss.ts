/**
 * Resident memory of a process as the abuse tests measure it: `VmRSS` from `/proc/<pid>/status`
 * (Linux), in bytes.
 * @throws Error when the process is gone or the file has no VmRSS line
 */
import { readFileSync } from "node:fs";

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
