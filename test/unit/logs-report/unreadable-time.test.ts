import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestEventLine } from "../../../src/core/events/request-line.js";
import { buildReport } from "../../../scripts/logs-report/report.mjs";
import { line, record } from "./request-lines.js";

/**
 * logs:report over events whose `ts` is no time at all. Any Worker in the
 * Logpush job can write such a line; the schema refuses it (docs/analytics.md,
 * *Event times*), and the report needs the time for its range and series. So
 * the event is malformed: skipped and counted, on both the quick path (a
 * Logpush record) and the parsed one (plain NDJSON), never a crash and never
 * a request the series leaves out.
 */

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, "../../../scripts/logs-report/cli.mjs");

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "unreadable-time-"));
});
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

async function write(name: string, lines: string[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, lines.join("\n") + "\n");
  return file;
}

const coordinatorLine = (ts: string) => JSON.stringify({ v: 1, event: "lease_expired", ts, service: "shop", instance: "a", leaseExpiredAt: ts });

describe("logs:report and event times that do not parse", () => {
  it("reports a file whose every event has one: no event read, each counted as malformed, exit 0", async () => {
    const file = await write("all-bad.ndjson", [
      record(requestEventLine(line({ ts: "yesterday" }))),
      JSON.stringify(line({ ts: "" })),
      coordinatorLine("2026-13-45T99:00:00.000Z"),
    ]);
    const r = await buildReport([file], { threads: 1, progress: { threshold: Infinity } });
    expect(r.input.events).toBe(0);
    expect(r.input.malformed).toBe(3);
    expect(r.from).toBeNull();
    expect(r.services).toEqual([]);
    const cli = await run(process.execPath, [CLI, "--quiet", file]);
    expect(cli.stdout).toContain("3 malformed line(s) skipped");
  });

  it("skips such an event beside good ones, so the series adds up to the requests and errors counted", async () => {
    const file = await write("mixed.ndjson", [
      record(requestEventLine(line({ requestId: "good" }))),
      record(requestEventLine(line({ requestId: "bad", ts: "2026-11-30T10:00:75.000Z", status: 502, outcome: "upstream_error", failures: ["reset"] }))),
      JSON.stringify(line({ requestId: "bad2", ts: "not a time", status: 503, outcome: "upstream_error", failures: ["503"] })),
    ]);
    const r = await buildReport([file], { threads: 1, progress: { threshold: Infinity } });
    expect(r.input.events).toBe(1);
    expect(r.input.malformed).toBe(2);
    const shop = r.services.find((s) => s.service === "shop");
    expect(shop?.requests).toBe(1);
    expect(shop?.errors).toBe(0);
    expect(shop?.series.reduce((n, p) => n + p.requests, 0)).toBe(shop?.requests);
    expect(shop?.series.reduce((n, p) => n + p.errors, 0)).toBe(shop?.errors);
  });

  it("counts the same on worker threads as on one", async () => {
    const a = await write("threads-a.ndjson", [record(requestEventLine(line())), record(requestEventLine(line({ ts: "soon" })))]);
    const b = await write("threads-b.ndjson", [JSON.stringify(line({ ts: "later" })), JSON.stringify(line({ requestId: "b" }))]);
    const one = await buildReport([a, b], { threads: 1, progress: { threshold: Infinity } });
    const two = await buildReport([a, b], { threads: 2, progress: { threshold: Infinity } });
    expect(two).toEqual(one);
    expect(two.input.malformed).toBe(2);
    expect(two.input.events).toBe(2);
  });
});
