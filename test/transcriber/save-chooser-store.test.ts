import { describe, expect, it } from "vitest";
import { SaveChooserStore } from "../../src/transcriber/ui/SaveChooser";
import type { SaveTarget } from "../../src/transcriber/fdc3/save-targets";

const t = (appId: string): SaveTarget => ({ key: `SaveTranscript|${appId}|`, intent: "SaveTranscript", appId, title: appId });

describe("SaveChooserStore (the Save to… chooser's state)", () => {
  it("shows one question, answers it with the pick, and is empty again", async () => {
    const store = new SaveChooserStore();
    let changes = 0;
    store.subscribe(() => (changes += 1));
    const answer = store.choose([t("a"), t("b")]);
    expect(store.getSnapshot()?.targets.map((x) => x.appId)).toEqual(["a", "b"]);
    store.getSnapshot()!.answer(t("b"));
    expect((await answer)?.appId).toBe("b");
    expect(store.getSnapshot()).toBeUndefined();
    expect(changes).toBe(2);
  });

  it("a new question closes the one still open (its answer: undefined, i.e. cancelled)", async () => {
    const store = new SaveChooserStore();
    const first = store.choose([t("a")]);
    const second = store.choose([t("b")]);
    expect(await first).toBeUndefined();
    expect(store.getSnapshot()?.targets[0]!.appId).toBe("b");
    store.getSnapshot()!.answer(undefined);
    expect(await second).toBeUndefined();
  });
});
