import { afterEach, describe, expect, it } from "vitest";
import { requestEventSchema } from "../../../src/core/events/request-event.js";
import { exchange, resetOrigins, serviceWith } from "../helpers.js";

/**
 * The request line is versioned and its zod schema is the contract readers
 * validate against (docs/analytics.md). A client chooses the path, so a
 * request through the whole router with a path longer than any the schema
 * allows must still give a line the schema accepts.
 */

afterEach(async () => {
  await resetOrigins();
});

/** The request lines one request through the router writes, parsed but not yet checked. */
async function linesOf(url: string): Promise<{ status: number; lines: Record<string, unknown>[] }> {
  const { res, logs } = await exchange(url, {}, (r) => r.arrayBuffer(), { REQUEST_LOG_SAMPLE: "1" });
  return { status: res.status, lines: logs.filter((o) => o.event === "request") };
}

describe("the request line at the edges of what a client may send", () => {
  it("a path of 12,000 characters (URLs up to 16 KB reach a Worker): the line still passes the event schema, its path cut to the schema's bound", async () => {
    const { name } = await serviceWith(1);
    const path = `/${name}/${"a".repeat(12_000)}`;
    const { status, lines } = await linesOf(`http://mesh.test${path}?token=secret`);
    expect(status).toBe(200);
    expect(lines).toHaveLength(1);
    const parsed = requestEventSchema.safeParse(lines[0]);
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([]);
    const logged = String(lines[0]?.path);
    // The start of the path is what tells requests apart; it is kept as sent.
    expect(path.startsWith(logged)).toBe(true);
    expect(logged.length).toBeGreaterThan(8_000);
  });
});
