/**
 * React hook behind the Recordings panel: loads the finished recordings (on mount, on `refresh()`,
 * and every `pollMs`), and sends one with SaveTranscript, keeping each row's outcome.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { Transcript } from "../../contracts";
import { SaveCancelledError, type SaveOutcome } from "../session/controller";
import { fetchFinishedRecordings, fetchRecordingTranscript, type RecordingSummary, type RecordingsClientOptions } from "./client";

/** Outcome of sending one recording; `cancelled`: the user closed the app picker (not a failure). */
export type SendState = { state: "sending" } | ({ state: "saved" } & SaveOutcome) | { state: "failed"; error: string } | { state: "cancelled" };

/** Options of {@link useRecordings}: the recordings client's, plus `save` and `pollMs`. */
export interface UseRecordingsOptions extends RecordingsClientOptions {
  /** Raise SaveTranscript (the user picks the CRM in the resolver). */
  save: (transcript: Transcript) => Promise<SaveOutcome>;
  /** Reload the list this often, ms; 0 = only on mount and refresh. Default 15 000. */
  pollMs?: number;
}

/** What {@link useRecordings} returns: the list, its load state and error, each row's send outcome, and the actions. */
export interface RecordingsState {
  recordings: RecordingSummary[];
  loading: boolean;
  error?: string;
  /** Per call id. */
  sends: Record<string, SendState>;
  refresh(): void;
  send(callId: string): Promise<void>;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The hook itself; load failures land in `error`, send failures in that row's `sends` entry (neither throws). */
export function useRecordings(options: UseRecordingsOptions): RecordingsState {
  const { baseUrl, apiKey, fetchImpl, save, pollMs = 15_000 } = options;
  const [recordings, setRecordings] = useState<RecordingSummary[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | undefined>();
  const [sends, setSends] = useState<Record<string, SendState>>({});
  const live = useRef(true);

  const refresh = useCallback(() => {
    setLoading(true);
    fetchFinishedRecordings({ baseUrl, apiKey, fetchImpl }).then(
      (list) => {
        if (!live.current) return;
        setRecordings(list);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live.current) return;
        setError(errorText(e));
        setLoading(false);
      },
    );
  }, [baseUrl, apiKey, fetchImpl]);

  useEffect(() => {
    live.current = true;
    refresh();
    const timer = pollMs > 0 ? setInterval(refresh, pollMs) : undefined;
    return () => {
      live.current = false;
      if (timer) clearInterval(timer);
    };
  }, [refresh, pollMs]);

  const send = useCallback(
    async (callId: string) => {
      setSends((s) => ({ ...s, [callId]: { state: "sending" } }));
      let next: SendState;
      try {
        const transcript = await fetchRecordingTranscript({ baseUrl, apiKey, fetchImpl }, callId);
        next = { state: "saved", ...(await save(transcript)) };
      } catch (e) {
        next = e instanceof SaveCancelledError ? { state: "cancelled" } : { state: "failed", error: errorText(e) };
      }
      if (live.current) setSends((s) => ({ ...s, [callId]: next }));
    },
    [baseUrl, apiKey, fetchImpl, save],
  );

  return { recordings, loading, ...(error !== undefined && { error }), sends, refresh, send };
}
