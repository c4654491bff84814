/**
 * Every JSON Schema Callscribe validates contexts against: our two proposed context types
 * (`contexts/`) and the FDC3 2.2 standard context schemas they reference (shipped in
 * `@finos/fdc3-context`). Imported as JSON so Vite bundles them for the browser and tsx loads them in Node.
 */
import callSchema from "../../contexts/call.schema.json" with { type: "json" };
import transcriptSchema from "../../contexts/transcript.schema.json" with { type: "json" };
import contextSchema from "@finos/fdc3-context/dist/schemas/context/context.schema.json" with { type: "json" };
import contactSchema from "@finos/fdc3-context/dist/schemas/context/contact.schema.json" with { type: "json" };
import contactListSchema from "@finos/fdc3-context/dist/schemas/context/contactList.schema.json" with { type: "json" };
import interactionSchema from "@finos/fdc3-context/dist/schemas/context/interaction.schema.json" with { type: "json" };
import nothingSchema from "@finos/fdc3-context/dist/schemas/context/nothing.schema.json" with { type: "json" };
import timeRangeSchema from "@finos/fdc3-context/dist/schemas/context/timeRange.schema.json" with { type: "json" };
import transactionResultSchema from "@finos/fdc3-context/dist/schemas/context/transactionresult.schema.json" with { type: "json" };

/** The context types we define ourselves (proposals for the standard), by `type`. */
export const OWN_CONTEXT_SCHEMAS = {
  "fdc3.call": callSchema,
  "fdc3.transcript": transcriptSchema,
} as const;

/** Standard FDC3 2.2 context types we send or receive, by `type`. */
export const STANDARD_CONTEXT_SCHEMAS = {
  "fdc3.contact": contactSchema,
  "fdc3.contactList": contactListSchema,
  "fdc3.interaction": interactionSchema,
  "fdc3.nothing": nothingSchema,
  "fdc3.timeRange": timeRangeSchema,
  "fdc3.transactionResult": transactionResultSchema,
} as const;

/** `fdc3.context` itself: referenced by the others, not a context type of its own. */
export const BASE_CONTEXT_SCHEMA = contextSchema;
