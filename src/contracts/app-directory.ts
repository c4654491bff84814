/**
 * The App Directory v2 records in `app-directory/`: the transcriber, the demo softphone, the three
 * demo CRMs (two for SaveTranscript, one standard-only for CreateInteraction) and the library. The browser desktop agent serves intents from these records alone.
 */
import transcriber from "../../app-directory/transcriber.json" with { type: "json" };
import softphone from "../../app-directory/softphone.json" with { type: "json" };
import acmeCrm from "../../app-directory/acme-crm.json" with { type: "json" };
import notesCrm from "../../app-directory/notes-crm.json" with { type: "json" };
import library from "../../app-directory/library.json" with { type: "json" };
import standardCrm from "../../app-directory/standard-crm.json" with { type: "json" };

/** An App Directory v2 `Application` record, web apps only (see app-directory/application.schema.json). */
export interface AppDirectoryRecord {
  appId: string;
  name?: string;
  title: string;
  description?: string;
  version?: string;
  publisher?: string;
  categories?: string[];
  type: "web";
  /** `url` may be relative to the desktop agent's origin, e.g. `/transcriber/`. */
  details: { url: string };
  interop?: {
    intents?: {
      listensFor?: Record<string, { displayName?: string; contexts: string[]; resultType?: string }>;
      raises?: Record<string, string[]>;
    };
    userChannels?: { broadcasts?: string[]; listensFor?: string[] };
  };
}

/** All records, in launcher order. */
export const APP_DIRECTORY: AppDirectoryRecord[] = [transcriber, softphone, acmeCrm, notesCrm, standardCrm, library] as AppDirectoryRecord[];

/**
 * Records with `details.url` made absolute against `origin` (e.g. `http://localhost:8787`), as a
 * desktop agent needs them to check an app's identity URL.
 */
export function resolveAppDirectory(origin: string, records: AppDirectoryRecord[] = APP_DIRECTORY): AppDirectoryRecord[] {
  return records.map((r) => ({ ...r, details: { url: new URL(r.details.url, origin).href } }));
}
