import { describe, expect, it } from "vitest";
import { MAX_LINE_BYTES } from "../../../scripts/logs-report/read/lines.mjs";
import { line, reportInTempDir } from "./request-lines.js";

/**
 * A line is read up to MAX_LINE_BYTES (16 MiB): a longer one is skipped and counted as malformed,
 * whatever it holds, and reading goes on after it. Without the limit, a line with no end in sight was
 * held in memory whole, and past V8's longest string the rest of the file was lost.
 */
const report = reportInTempDir("long-line-");

describe("logs:report on a line over MAX_LINE_BYTES", () => {
  it("skips it as malformed, even a well-formed event, and reads the lines after it", async () => {
    const before = JSON.stringify(line({ requestId: "before" }));
    // A request event the schema would take but for its length (the mesh cuts a path at 8,192 characters).
    const huge = JSON.stringify(line({ requestId: "huge", path: `/${"x".repeat(MAX_LINE_BYTES)}` }));
    const after = JSON.stringify(line({ requestId: "after" }));
    const r = await report("long.log", [before, huge, after]);
    expect(r.input).toMatchObject({ lines: 3, malformed: 1, events: 2, unreadable: [] });
  });
});
