/**
 * React hook behind the Recordings panel: the recorded calls in any status (`GET /v1/calls`),
 * kept current by the server's call events (`GET /v1/calls/events`, see `call-events.ts`): a
 * status change updates its row, an unknown call (a new recording) re-reads the list, and each
 * (re)opened stream re-reads it too. A call that reaches `done` has its transcript read once, for
 * its summary and sentiment. Sending one raises SaveTranscript, keeping each row's outcome.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { Transcript } from "../../contracts";
import { SaveCancelledError, type SaveOutcome } from "../session/controller";
import { subscribeCallEvents } from "./call-events";
import { fetchRecordings, fetchRecordingTranscript, type RecordingSummary, type RecordingsClientOptions } from "./client";

/** Outcome of sending one recording; `cancelled`: the user closed the app picker (not a failure). */
export type SendState = { state: "sending" } | ({ state: "saved" } & SaveOutcome) | { state: "failed"; error: string } | { state: "cancelled" };

/** A done call's analysis as the panel shows it. */
export interface RecordingAnalysis {
  summary?: string;
  sentiment?: { label: string; score?: number };
  topics?: string[];
  /** Reading the transcript failed. */
  error?: string;
}

/** The live feed's state. */
export type FeedState = { state: "connecting" } | { state: "live" } | { state: "reconnecting" | "unavailable"; reason: string };

/** Options of {@link useRecordings}: the recordings client's, plus `save`. */
export interface UseRecordingsOptions extends RecordingsClientOptions {
  /** Raise SaveTranscript (the user picks the CRM in the resolver). */
  save: (transcript: Transcript) => Promise<SaveOutcome>;
}

/** What {@link useRecordings} returns. */
export interface RecordingsState {
  recordings: RecordingSummary[];
  loading: boolean;
  error?: string;
  feed: FeedState;
  /** Per call id, once done. */
  analyses: Record<string, RecordingAnalysis>;
  /** Per call id. */
  sends: Record<string, SendState>;
  send(callId: string): Promise<void>;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function analysisOf(t: Transcript): RecordingAnalysis {
  const x = t as unknown as { summary?: unknown; sentiment?: { label?: unknown; score?: unknown }; topics?: unknown };
  return {
    ...(typeof x.summary === "string" && x.summary.trim() && { summary: x.summary.trim() }),
    ...(typeof x.sentiment?.label === "string" && { sentiment: { label: x.sentiment.label, ...(typeof x.sentiment.score === "number" && { score: x.sentiment.score }) } }),
    ...(Array.isArray(x.topics) && x.topics.length > 0 && { topics: x.topics.filter((s): s is string => typeof s === "string") }),
  };
}

/** The hook itself; failures land in `error`, a row's `analyses` entry, or its `sends` entry (nothing throws). */
export function useRecordings(options: UseRecordingsOptions): RecordingsState {
  const { baseUrl, apiKey, token, fetchImpl, save } = options;
  const [recordings, setRecordings] = useState<RecordingSummary[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | undefined>();
  const [feed, setFeed] = useState<FeedState>({ state: "connecting" });
  const [analyses, setAnalyses] = useState<Record<string, RecordingAnalysis>>({});
  const [sends, setSends] = useState<Record<string, SendState>>({});
  const live = useRef(true);
  const known = useRef(new Set<string>());
  const reading = useRef(new Set<string>());
  const client = useRef<RecordingsClientOptions>({ baseUrl });
  client.current = { baseUrl, ...(apiKey && { apiKey }), ...(token && { token }), ...(fetchImpl && { fetchImpl }) };

  const refresh = useCallback(() => {
    fetchRecordings(client.current).then(
      (list) => {
        if (!live.current) return;
        known.current = new Set(list.map((r) => r.callId));
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
  }, []);

  useEffect(() => {
    live.current = true;
    let pendingRefresh: ReturnType<typeof setTimeout> | undefined;
    const refreshSoon = () => {
      clearTimeout(pendingRefresh);
      pendingRefresh = setTimeout(refresh, 200);
    };
    refresh();
    const stop = subscribeCallEvents(client.current, {
      onReady: refreshSoon,
      onEvent: (e) => {
        if (!live.current) return;
        if (!known.current.has(e.id)) return refreshSoon();
        setRecordings((list) => list.map((r) => (r.callId === e.id ? { ...r, status: e.status, ...(e.reason !== undefined ? { reason: e.reason } : { reason: undefined }) } : r)));
      },
      onState: (s) => live.current && setFeed(s),
    });
    return () => {
      live.current = false;
      clearTimeout(pendingRefresh);
      stop();
    };
  }, [refresh]);

  // Each call that is done: its summary and sentiment, read once.
  useEffect(() => {
    for (const r of recordings) {
      if (r.status !== "done" || reading.current.has(r.callId)) continue;
      reading.current.add(r.callId);
      fetchRecordingTranscript(client.current, r.callId).then(
        (t) => live.current && setAnalyses((a) => ({ ...a, [r.callId]: analysisOf(t) })),
        (e: unknown) => live.current && setAnalyses((a) => ({ ...a, [r.callId]: { error: errorText(e) } })),
      );
    }
  }, [recordings]);

  const send = useCallback(
    async (callId: string) => {
      setSends((s) => ({ ...s, [callId]: { state: "sending" } }));
      let next: SendState;
      try {
        const transcript = await fetchRecordingTranscript(client.current, callId);
        next = { state: "saved", ...(await save(transcript)) };
      } catch (e) {
        next = e instanceof SaveCancelledError ? { state: "cancelled" } : { state: "failed", error: errorText(e) };
      }
      if (live.current) setSends((s) => ({ ...s, [callId]: next }));
    },
    [save],
  );

  return { recordings, loading, ...(error !== undefined && { error }), feed, analyses, sends, send };
}
