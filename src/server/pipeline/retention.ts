/**
 * Retention of recordings (issue 4 §4, DESIGN §9): downloaded audio older than
 * `CALLSCRIBE_AUDIO_RETENTION_DAYS` days is deleted from disk and the call records
 * `audio_deleted_at`. Transcripts and analyses stay. Runs as a pg-boss cron job (hourly, one run
 * per slot across all processes) on the queue {@link RETENTION_QUEUE}.
 */
import { rm } from "node:fs/promises";
import type PgBoss from "pg-boss";
import type { CallRepository } from "../store/calls";

/** pg-boss queue name of the hourly audio-retention sweep. */
export const RETENTION_QUEUE = "audio-retention";
/** Every hour, at minute 7 (cron, UTC). */
export const RETENTION_CRON = "7 * * * *";

/**
 * Delete the audio of calls created more than `retentionDays` days before `now`.
 * Calls still in progress lose their audio too once it is that old (they then fail with a clear reason).
 * @returns the ids of the calls whose audio was deleted
 */
export async function deleteExpiredAudio(calls: CallRepository, retentionDays: number, now = new Date()): Promise<string[]> {
  const before = new Date(now.getTime() - retentionDays * 86_400_000);
  const deleted: string[] = [];
  for (;;) {
    const batch = await calls.listAudioCreatedBefore(before, 200);
    if (!batch.length) break;
    for (const c of batch) {
      await rm(c.audio_path, { force: true });
      await calls.markAudioDeleted(c.call_id);
      deleted.push(c.call_id);
    }
  }
  return deleted;
}

/**
 * Create the retention queue, its hourly schedule, and (when `work`) a worker for it. The hourly
 * run also calls `alsoHourly` (the queue's reconciliation of calls whose job failed unseen).
 */
export async function scheduleRetention(
  boss: PgBoss,
  calls: CallRepository,
  retentionDays: number,
  work: boolean,
  onDeleted?: (ids: string[]) => void,
  alsoHourly?: () => Promise<unknown>,
): Promise<void> {
  await boss.createQueue(RETENTION_QUEUE, { name: RETENTION_QUEUE, retryLimit: 2, retryDelay: 60 });
  await boss.schedule(RETENTION_QUEUE, RETENTION_CRON, {});
  if (work) {
    await boss.work(RETENTION_QUEUE, async () => {
      await alsoHourly?.();
      const ids = await deleteExpiredAudio(calls, retentionDays);
      onDeleted?.(ids);
      return { deleted: ids.length };
    });
  }
}
