/**
 * The "Save to…" chooser of the transcriber and the Library (issue 10 §2): shown when both SaveTranscript CRMs and
 * standard-only CreateInteraction CRMs are in the desktop, since a desktop resolver lists one
 * intent's apps for one context. Lists each app with the intent it would get; Cancel or Escape
 * leaves the transcript unsaved (the same as closing the desktop's resolver).
 */
import { useSyncExternalStore } from "react";
import { targetLabel, type SaveTarget } from "../fdc3/save-targets";
import "./save-chooser.css";

/** One pending question at a time; a new one answers the previous with "closed". */
export class SaveChooserStore {
  private pending: { targets: SaveTarget[]; answer: (t: SaveTarget | undefined) => void } | undefined;
  private readonly listeners = new Set<() => void>();

  /** Show the chooser; resolves with the chosen target, or `undefined` when closed. */
  choose = (targets: SaveTarget[]): Promise<SaveTarget | undefined> => {
    this.pending?.answer(undefined);
    return new Promise((resolve) => {
      this.pending = {
        targets,
        answer: (t) => {
          this.pending = undefined;
          this.emit();
          resolve(t);
        },
      };
      this.emit();
    });
  };

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  getSnapshot = () => this.pending;

  private emit() {
    for (const l of this.listeners) l();
  }
}

/** The dialog, while the store has a question. Test ids: `save-chooser`, `save-target` (`data-app-id`, `data-intent`), `save-chooser-cancel`. */
export function SaveChooser({ store }: { store: SaveChooserStore }) {
  const pending = useSyncExternalStore(store.subscribe, store.getSnapshot);
  if (!pending) return null;
  return (
    <div className="chooser-backdrop">
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="save-chooser-title"
        className="chooser"
        data-testid="save-chooser"
        onKeyDown={(e) => {
          if (e.key === "Escape") pending.answer(undefined);
        }}
      >
        <h2 id="save-chooser-title">Save to…</h2>
        <p>Which app should keep this transcript?</p>
        <ul>
          {pending.targets.map((t, i) => (
            <li key={t.key}>
              <button autoFocus={i === 0} data-testid="save-target" data-app-id={t.appId} data-intent={t.intent} onClick={() => pending.answer(t)}>
                {targetLabel(t)}
              </button>
            </li>
          ))}
        </ul>
        <button data-testid="save-chooser-cancel" className="cancel" onClick={() => pending.answer(undefined)}>
          Cancel
        </button>
      </div>
    </div>
  );
}
