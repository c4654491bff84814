import { describe, expect, it } from "vitest";
import { labelResolverOptions, narrowTo, needsUserChoice, resolverOptions } from "../../src/desktop-agent/resolverOptions";
import { appUrlKey, isSameAppUrl } from "../../src/desktop-agent/appUrl";

const save = { name: "SaveTranscript", displayName: "Save Transcript" };

describe("host intent resolver options", () => {
  it("asks the user when two apps can handle the intent, and lists each once", () => {
    const appIntents = [{ intent: save, apps: [{ appId: "acme-crm" }, { appId: "notes-crm" }, { appId: "notes-crm" }] }];
    expect(needsUserChoice(appIntents)).toBe(true);
    expect(resolverOptions(appIntents).map((o) => o.key)).toEqual(["SaveTranscript|acme-crm|", "SaveTranscript|notes-crm|"]);
  });

  it("delivers without asking to the single app, or to its single running instance", () => {
    expect(needsUserChoice([{ intent: save, apps: [{ appId: "notes-crm" }] }])).toBe(false);
    expect(needsUserChoice([{ intent: save, apps: [{ appId: "notes-crm", instanceId: "i1" }, { appId: "notes-crm" }] }])).toBe(false);
  });

  it("asks when an app has two running instances, and offers running windows before a new one", () => {
    const appIntents = [{ intent: save, apps: [{ appId: "notes-crm" }, { appId: "notes-crm", instanceId: "i1" }, { appId: "notes-crm", instanceId: "i2" }] }];
    expect(needsUserChoice(appIntents)).toBe(true);
    expect(resolverOptions(appIntents).map((o) => o.instanceId ?? "new")).toEqual(["i1", "i2", "new"]);
  });

  it("asks when several intents match a context (raiseIntentForContext)", () => {
    const start = { name: "StartTranscription" };
    expect(needsUserChoice([{ intent: start, apps: [{ appId: "transcriber" }] }, { intent: save, apps: [{ appId: "notes-crm" }] }])).toBe(true);
  });

  it("narrows to exactly the chosen app or instance", () => {
    const [running] = resolverOptions([{ intent: save, apps: [{ appId: "notes-crm", instanceId: "i1" }] }]);
    expect(narrowTo(running!)).toEqual([{ intent: save, apps: [{ appId: "notes-crm", instanceId: "i1" }] }]);
    const [fresh] = resolverOptions([{ intent: save, apps: [{ appId: "acme-crm" }] }]);
    expect(narrowTo(fresh!)).toEqual([{ intent: save, apps: [{ appId: "acme-crm" }] }]);
  });
});

describe("resolver labels", () => {
  const titles: Record<string, string> = { "acme-crm": "Acme CRM", "notes-crm": "Notes CRM" };
  const titleOf = (id: string) => titles[id] ?? id;
  // The desktop shows the softphone and the transcriber before the one Acme window.
  const windows = [
    { instanceId: "p1", appId: "softphone", openedAt: "2026-12-02T09:00:00.000Z" },
    { instanceId: "t1", appId: "transcriber", openedAt: "2026-12-02T09:00:05.000Z" },
    { instanceId: "a1", appId: "acme-crm", openedAt: "2026-12-02T09:01:00.000Z" },
  ];

  it("calls the only open window of an app 'the open window', not by its place among all windows", () => {
    const options = resolverOptions([{ intent: save, apps: [{ appId: "acme-crm", instanceId: "a1" }, { appId: "acme-crm" }, { appId: "notes-crm" }] }]);
    expect(labelResolverOptions(options, titleOf, windows).map((o) => o.label)).toEqual([
      "Acme CRM (the open window)",
      "Acme CRM (new window)",
      "Notes CRM (new window)",
    ]);
  });

  it("numbers several windows of one app among themselves, with the time each was opened", () => {
    const more = [...windows, { instanceId: "a2", appId: "acme-crm", openedAt: "2026-12-02T09:05:30.000Z" }];
    const options = resolverOptions([{ intent: save, apps: [{ appId: "acme-crm", instanceId: "a2" }, { appId: "acme-crm", instanceId: "a1" }] }]);
    const labels = labelResolverOptions(options, titleOf, more).map((o) => o.label);
    const at = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    expect(labels).toEqual([`Acme CRM (open window 2 of 2, opened ${at("2026-12-02T09:05:30.000Z")})`, `Acme CRM (open window 1 of 2, opened ${at("2026-12-02T09:01:00.000Z")})`]);
    expect(labels.join(" ")).not.toMatch(/window 3|window 4/);
  });
});

describe("app identity URLs", () => {
  const record = "http://127.0.0.1:8787/transcriber/";
  it("treats a directory path and its index.html, with any query or hash, as the same app", () => {
    expect(isSameAppUrl("http://127.0.0.1:8787/transcriber/index.html?x=1#y", record)).toBe(true);
    expect(appUrlKey("/demo/crm/notes.html", "http://localhost:1")).toBe("http://localhost:1/demo/crm/notes.html");
  });
  it("rejects another path, another origin, and non-URLs", () => {
    expect(isSameAppUrl("http://127.0.0.1:8787/demo/softphone/", record)).toBe(false);
    expect(isSameAppUrl("http://localhost:8787/transcriber/", record)).toBe(false);
    expect(isSameAppUrl("not a url", record)).toBe(false);
    expect(isSameAppUrl(undefined, record)).toBe(false);
  });
});
