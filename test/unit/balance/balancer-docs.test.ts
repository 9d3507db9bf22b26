import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BALANCERS, BALANCER_KINDS } from "../../../src/core/balance/index.js";

/**
 * docs/architecture.md's balancer table is written by hand; this keeps it and
 * the registry (src/core/balance/registry.ts) saying the same thing.
 */
function docsTable(): Map<string, { weighted: string; description: string }> {
  const text = readFileSync(new URL("../../../docs/architecture.md", import.meta.url), "utf8");
  const start = text.indexOf("| `balancer` |");
  expect(start, "docs/architecture.md has a balancer table").toBeGreaterThan(-1);
  const rows = new Map<string, { weighted: string; description: string }>();
  for (const line of text.slice(start).split("\n").slice(2)) {
    if (!line.startsWith("|")) break;
    const [kind = "", weighted = "", description = ""] = line.split("|").slice(1, -1).map((c) => c.trim());
    rows.set(kind.replaceAll("`", ""), { weighted, description });
  }
  return rows;
}

describe("balancer docs table", () => {
  it("lists exactly the registry's kinds, in registry order, with the same description and weight handling", () => {
    const rows = docsTable();
    expect([...rows.keys()]).toEqual(BALANCER_KINDS);
    for (const kind of BALANCER_KINDS) {
      expect(rows.get(kind)).toEqual({ weighted: BALANCERS[kind].weighted ? "yes" : "no", description: BALANCERS[kind].description });
    }
  });
});
