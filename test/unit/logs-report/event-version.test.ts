import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extract, extractParsed } from "../../../scripts/logs-report/read/extract.mjs";
import { renderHtml } from "../../../scripts/logs-report/render-html.mjs";
import { renderText } from "../../../scripts/logs-report/render-text.mjs";
import { buildReport } from "../../../scripts/logs-report/report.mjs";
import { line, record } from "./request-lines.js";
import { requestEventLine } from "../../../src/core/events/request-line.js";

/**
 * Events of a version this reader does not know (docs/analytics.md: "a rename, a removal or a changed
 * meaning makes the next version") are not read as version 1: a `latencyMs` that meant seconds, or a
 * `weight` with another meaning, would be miscounted without a word. They are counted and named.
 */


const ejection = (v: unknown) => JSON.stringify({ v, event: "ejection", ts: "2026-11-30T10:00:01.000Z", service: "shop", instance: "a", ejectedUntil: "x", durationMs: 1, ejections: 1 });

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "event-version-"));
});
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("logs:report and event versions", () => {
  it("counts lines of an unknown version apart, on both paths, and never as requests or coordinator events", () => {
    const v2 = JSON.stringify({ ...line(), v: 2, latencyMs: 0.005 });
    for (const l of [v2, record(v2), record(requestEventLine(line()).replace('{"v":1,', '{"v":2,')), ejection(2), record(ejection("1"))]) {
      for (const read of [extract, extractParsed]) {
        expect(read(l), l).toEqual({ events: [], malformed: 0, unknownVersion: 1, other: false });
      }
    }
    // A line without `v` is from before versioning, and version 1 is read as always.
    const { v: _v, ...unversioned } = line();
    expect(extract(JSON.stringify(unversioned))).toMatchObject({ events: [{ service: "shop" }], unknownVersion: 0 });
    expect(extract(record(requestEventLine(line())))).toMatchObject({ events: [{ service: "shop" }], unknownVersion: 0 });
  });

  it("reports how many lines it skipped for their version, in the header, the JSON and the HTML", async () => {
    const file = path.join(dir, "mixed.ndjson");
    const lines = [
      record(requestEventLine(line())),
      JSON.stringify(line({ latencyMs: 7 })),
      JSON.stringify({ ...line(), v: 2, latencyMs: 0.005, weight: 1000 }),
      record(JSON.stringify({ ...line(), v: 2, status: 503 })),
      ejection(2),
    ];
    await writeFile(file, lines.join("\n") + "\n");
    const r = await buildReport([file], { threads: 1, progress: { threshold: Infinity } });
    expect(r.input).toMatchObject({ lines: 5, events: 2, malformed: 0, other: 0, unknownVersion: 3 });
    expect(r.services).toHaveLength(1);
    expect(r.services[0]).toMatchObject({ service: "shop", requests: 2, errors: 0, coordinatorEvents: {} });
    const notice = "3 event(s) of a version other than 1 skipped (this report reads version 1)";
    expect(renderText(r)).toContain(notice);
    expect(renderHtml(r)).toContain(notice);
    // Worker threads (one file each) add their counts up the same.
    const copy = path.join(dir, "mixed-2.ndjson");
    await writeFile(copy, lines.join("\n") + "\n");
    const parallel = await buildReport([file, copy], { threads: 2, progress: { threshold: Infinity } });
    expect(parallel.input).toMatchObject({ lines: 10, events: 4, unknownVersion: 6 });
  });
});
