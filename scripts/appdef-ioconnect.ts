/**
 * io.Connect Desktop app definitions generated from our App Directory records
 * (`app-directory/*.json`), one file per app under `app-directory/io.connect/`, for an io.Connect
 * Desktop that loads definitions from a local or REST app store rather than from an FDC3 App
 * Directory.
 *
 * The conversion is io.Connect's own, as `@interopio/desktop` 6.18 does it for an App Directory
 * record (`FDC3Service.parseToDesktopAppConfig`): `name` = `appId`, `type` "window" for a web app,
 * `details` = the record's `details`, `title`, `version`, `tooltip`, `caption` = `description`,
 * `intents` from `interop.intents.listensFor`, the record itself under `fdc3`, then
 * `hostManifests.ioConnect` merged over the result (`details` key by key, `intents` appended).
 * One difference: relative URLs are made absolute against `--origin`, since io.Connect opens the
 * URL as it is.
 *
 * `npm run appdef:ioconnect [-- --origin http://host:port]` writes the files (default origin
 * http://localhost:8787, `npm start`'s); `test/contracts/ioconnect-appdefs.test.ts` fails when the
 * committed files differ from what this produces, or when they do not validate against the
 * application schema of `@interopio/schemas`.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { ApplicationConfig, Intent, WindowConfig } from "@interopio/schemas";
import { APP_DIRECTORY, resolveAppDirectory, type AppDirectoryRecord } from "../src/contracts/app-directory";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the definitions go. */
export const IOCONNECT_DIR = join(root, "app-directory", "io.connect");
/** The origin the committed definitions point at (`npm start`'s default). */
export const DEFAULT_ORIGIN = "http://localhost:8787";

/** An io.Connect definition of a web app: `details` is a window's. */
export type IoConnectAppDefinition = ApplicationConfig & { type: "window"; details: WindowConfig };

/**
 * The io.Connect Desktop definition of one record (see the module comment).
 * @param record a record with an absolute `details.url` (see `resolveAppDirectory`)
 */
export function ioConnectDefinition(record: AppDirectoryRecord): IoConnectAppDefinition {
  const intents: Intent[] = Object.entries(record.interop?.intents?.listensFor ?? {}).map(([name, decl]) => ({ name, ...decl }));
  const base: IoConnectAppDefinition = {
    name: record.appId,
    type: "window",
    details: { ...record.details },
    ...(record.version && { version: record.version }),
    title: record.title,
    ...(record.description && { caption: record.description }),
    ...(intents.length > 0 && { intents }),
    fdc3: { ...record, definitionVersion: "2.0" },
  };
  const { details, intents: moreIntents, ...rest } = record.hostManifests?.ioConnect ?? {};
  return {
    ...base,
    ...rest,
    details: { ...base.details, ...details },
    ...((base.intents || moreIntents) && { intents: [...(base.intents ?? []), ...(moreIntents ?? [])] }),
  };
}

/**
 * Every record's definition, with URLs made absolute against `origin`.
 * @returns file name (`<appId>.json`) and text, in App Directory order
 */
export function ioConnectDefinitionFiles(origin = DEFAULT_ORIGIN, records: AppDirectoryRecord[] = APP_DIRECTORY): { file: string; definition: IoConnectAppDefinition; text: string }[] {
  return resolveAppDirectory(origin, records).map((record) => {
    const definition = ioConnectDefinition(record);
    return { file: `${record.appId}.json`, definition, text: `${JSON.stringify(definition, null, 2)}\n` };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { origin: { type: "string", default: DEFAULT_ORIGIN }, out: { type: "string", default: IOCONNECT_DIR } } });
  const origin = new URL(values.origin!).origin;
  const files = ioConnectDefinitionFiles(origin);
  await mkdir(values.out!, { recursive: true });
  // A record that is gone leaves no stale definition behind.
  for (const old of await readdir(values.out!)) if (old.endsWith(".json") && !files.some((f) => f.file === old)) await rm(join(values.out!, old));
  for (const { file, text } of files) await writeFile(join(values.out!, file), text);
  console.log(`wrote ${files.length} io.Connect app definitions for ${origin} to ${values.out}`);
}
