import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { generateContextTypes } from "../../scripts/gen-context-types";

describe("contexts/types.ts", () => {
  it("matches what the schemas generate (run `npm run gen:types` after changing a schema)", async () => {
    const committed = await readFile(new URL("../../contexts/types.ts", import.meta.url), "utf8");
    expect(committed).toBe(await generateContextTypes());
  });
});
