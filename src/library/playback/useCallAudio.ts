/**
 * A recorded call's audio for the transcript view: fetched once with the library token (the
 * server's `GET /v1/transcripts/:id/audio` needs the `Authorization` header, which an `<audio src>`
 * cannot send) into a Blob URL, revoked when the view closes. Bounded by {@link MAX_PLAYABLE_BYTES}
 * (the server keeps at most CALLSCRIBE_MAX_RECORDING_BYTES, default 200 MiB, per recording).
 */
import { useEffect, useState } from "react";
import { ApiError, type LibraryApi } from "../api/client";
import type { LibraryEntry } from "../api/types";

/** Largest recording the view loads into the browser, bytes. */
export const MAX_PLAYABLE_BYTES = 256 * 1024 * 1024;

/** Where the audio is: none (not a recorded call), loading, ready (a Blob URL), gone (retention deleted it), or failed. */
export type CallAudio =
  | { state: "none" }
  | { state: "loading" }
  | { state: "ready"; url: string }
  | { state: "gone"; deletedAt?: string }
  | { state: "failed"; error: string };

/** The audio of `entry` as {@link CallAudio}. */
export function useCallAudio(api: LibraryApi, entry: LibraryEntry): CallAudio {
  const audio = entry.audio;
  const initial = (): CallAudio => {
    if (!audio || audio.status === "none") return { state: "none" };
    if (audio.status === "deleted") return { state: "gone", deletedAt: audio.deletedAt };
    if (audio.status === "missing") return { state: "failed", error: "The recording is not on this server's disk, so it cannot be played here." };
    if (audio.bytes > MAX_PLAYABLE_BYTES) return { state: "failed", error: `The recording is too large to play here (${Math.round(audio.bytes / 1048576)} MiB).` };
    return { state: "loading" };
  };
  const [state, setState] = useState<CallAudio>(initial);
  useEffect(() => {
    const first = initial();
    setState(first);
    if (first.state !== "loading") return;
    let live = true;
    let url: string | undefined;
    api.getBlob(`/v1/transcripts/${encodeURIComponent(entry.id)}/audio`).then(
      (blob) => {
        if (!live) return;
        url = URL.createObjectURL(blob);
        setState({ state: "ready", url });
      },
      (e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 410) setState({ state: "gone" });
        else setState({ state: "failed", error: `Could not load the call's audio: ${e instanceof Error ? e.message : String(e)}` });
      },
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
    // The entry id and its audio status decide what to load.
  }, [api, entry.id, audio?.status]);
  return state;
}
