/**
 * An opened transcript: the {@link TranscriptView}. This is the seam for recorded calls' audio:
 * the playback work gives the view its `player` and `playback` here (see TranscriptView's contract).
 */
import type { LibraryApi } from "../api/client";
import type { LibraryEntry } from "../api/types";
import { TranscriptView, type TranscriptViewProps } from "./TranscriptView";

/** Props: the entry, the API client (for the audio), and the view's actions. */
export function TranscriptPanel({ entry, onBack, onSaveTranscript }: { entry: LibraryEntry; api: LibraryApi } & Pick<TranscriptViewProps, "onBack" | "onSaveTranscript">) {
  return <TranscriptView entry={entry} {...(onBack && { onBack })} {...(onSaveTranscript && { onSaveTranscript })} />;
}
