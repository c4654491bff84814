/**
 * A full disk, said plainly (issue 7 item 16). PGlite reports it as a bare Emscripten
 * `ErrnoError { errno: 51 }` (51 is ENOSPC in Emscripten's numbering), Node as `ENOSPC`,
 * PostgreSQL as SQLSTATE 53100 (disk_full); all mean the same to the operator.
 */
import { ConfigError } from "../config/error";

/** Emscripten's errno for ENOSPC, as PGlite's file system throws it. */
const EMSCRIPTEN_ENOSPC = 51;

/** True when `err` says the disk (or the quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; errno?: unknown; message?: unknown } | undefined;
  if (!e || typeof e !== "object") return false;
  if (e.code === "ENOSPC" || e.code === "EDQUOT" || e.code === "53100") return true;
  if (e.name === "ErrnoError" && e.errno === EMSCRIPTEN_ENOSPC) return true;
  return typeof e.message === "string" && /no space left on device/i.test(e.message);
}

/**
 * The boot error for a full data directory: names the folder and the variable. Nothing accepted is
 * lost: the calls already stored finish once space is freed.
 */
export function dataDirFullError(dir: string): ConfigError {
  return new ConfigError(
    "CALLSCRIBE_DATA_DIR",
    `The data directory ${dir} (CALLSCRIBE_DATA_DIR) is full: no space left on device. Free space there (or set CALLSCRIBE_DATA_DIR to a folder with room) and start again; calls already accepted are kept and finish then.`,
  );
}
