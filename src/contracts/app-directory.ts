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
import type { ApplicationConfig, WindowConfig } from "@interopio/schemas";

/**
 * `hostManifests.ioConnect`: the io.Connect Desktop app definition's host-specific part. io.Connect
 * (`@interopio/desktop` 6.x, `FDC3Service.parseToDesktopAppConfig`) builds a definition from the
 * record and merges this over it, `details` key by key; `scripts/appdef-ioconnect.ts` does the same.
 */
export type IoConnectHostManifest = Partial<Omit<ApplicationConfig, "details" | "name" | "type">> & { details?: Partial<WindowConfig> };

/** `hostManifests.sail`: what FINOS FDC3 Sail reads (`packages/web`, `packages/common` of finos/FDC3-Sail). */
export interface SailHostManifest {
  /** false: not listed in Sail's app directory panel. Default true. */
  searchable?: boolean;
  /** true: opened in a browser tab of its own, not in a Sail panel (an iframe without microphone access). */
  forceNewWindow?: boolean;
}

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
  /** Host-specific manifests by host name (App Directory v2 `hostManifests`). */
  hostManifests?: { ioConnect?: IoConnectHostManifest; sail?: SailHostManifest; [host: string]: unknown };
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
