/**
 * An opened transcript: the {@link TranscriptView}, with the audio player of a recorded call whose
 * audio is still retained (`playback/useCallAudio.ts`). While it plays, the view highlights the
 * word being said; clicking a word seeks there and plays. Audio deleted by retention shows
 * "Audio no longer retained" instead of a player.
 */
import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { LibraryApi } from "../api/client";
import type { LibraryEntry } from "../api/types";
import { useCallAudio, type CallAudio } from "../playback/useCallAudio";
import { formatWhen } from "./format";
import { TranscriptView, type Playback, type TranscriptViewProps } from "./TranscriptView";

/** Props: the entry, the API client (for the audio), and the view's actions. */
export function TranscriptPanel({ entry, api, onBack, onSaveTranscript }: { entry: LibraryEntry; api: LibraryApi } & Pick<TranscriptViewProps, "onBack" | "onSaveTranscript">) {
  const audio = useCallAudio(api, entry);
  const ref = useRef<HTMLAudioElement>(null);
  // NaN until the audio element reports a position: no word is current before playback starts.
  const [time, setTime] = useState(Number.NaN);
  const url = audio.state === "ready" ? audio.url : undefined;

  useEffect(() => {
    const el = ref.current;
    if (!el || !url) return;
    let frame = 0;
    // `timeupdate` fires about 4 times a second, too coarse for words: follow every frame while playing.
    const tick = () => {
      setTime(el.currentTime);
      frame = !el.paused && !el.ended ? requestAnimationFrame(tick) : 0;
    };
    const onPlay = () => {
      cancelAnimationFrame(frame);
      tick();
    };
    const onMove = () => setTime(el.currentTime);
    el.addEventListener("play", onPlay);
    el.addEventListener("playing", onPlay);
    for (const e of ["pause", "seeked", "timeupdate", "ended"]) el.addEventListener(e, onMove);
    return () => {
      cancelAnimationFrame(frame);
      el.removeEventListener("play", onPlay);
      el.removeEventListener("playing", onPlay);
      for (const e of ["pause", "seeked", "timeupdate", "ended"]) el.removeEventListener(e, onMove);
    };
  }, [url]);

  const seek = useCallback((seconds: number) => {
    const el = ref.current;
    if (!el) return;
    el.currentTime = seconds;
    setTime(seconds);
    void el.play().catch(() => undefined); // a refused play leaves the position set
  }, []);

  const playback: Playback | undefined = url ? { time, seek } : undefined;
  const player = audio.state === "none" ? undefined : <AudioPlayer audio={audio} audioRef={ref} />;
  return <TranscriptView entry={entry} {...(playback && { playback })} {...(player && { player })} {...(onBack && { onBack })} {...(onSaveTranscript && { onSaveTranscript })} />;
}

function AudioPlayer({ audio, audioRef }: { audio: CallAudio; audioRef: RefObject<HTMLAudioElement | null> }) {
  return (
    <section aria-label="Call audio" className="lib-audio" data-state={audio.state}>
      {audio.state === "loading" && <p className="lib-muted">Loading the call's audio…</p>}
      {audio.state === "ready" && (
        <>
          <audio ref={audioRef} controls preload="auto" src={audio.url} data-testid="call-audio" aria-label="Call audio" />
          <span className="lib-muted">Click a word to play from there.</span>
        </>
      )}
      {audio.state === "gone" && (
        <p role="status" data-testid="audio-gone" className="lib-muted">
          Audio no longer retained{audio.deletedAt ? ` (deleted ${formatWhen(audio.deletedAt)} by the retention period)` : ""}
        </p>
      )}
      {audio.state === "failed" && (
        <p role="alert" className="lib-error" data-testid="audio-error">
          {audio.error}
        </p>
      )}
    </section>
  );
}
