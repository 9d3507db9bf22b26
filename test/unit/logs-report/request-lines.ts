import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { buildReport } from "../../../scripts/logs-report/report.mjs";
import { EVENT_VERSION, type RequestEvent } from "../../../src/core/events/request-event.js";

/** A version-1 request event for logs:report tests: a plain success, with `over` on top. */
export function line(over: Partial<RequestEvent> = {}): RequestEvent {
  return {
    v: EVENT_VERSION, event: "request", ts: "2026-11-30T10:00:00.000Z", requestId: "r", traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7", service: "shop", fallbackFrom: null, method: "GET", host: "h", path: "/shop/x", status: 200, outcome: "ok",
    instance: "a", attempts: 1, tried: ["a"], failures: [], latencyMs: 5, upstreamLatencyMs: 4, bytesIn: 0, bytesOut: 0, colo: null,
    country: null, mode: "snapshot", snapshotVersion: 1, retryBudgetExhausted: false, weight: 1, ...over,
  };
}

/** A Logpush record around one message, as the quick path reads it. */
export const record = (message: string) => JSON.stringify({ Outcome: "ok", Logs: [{ Level: "log", Message: [message], TimestampMs: 1 }] });

/**
 * For a test file: a temporary folder made before its tests and removed after, and `report(name,
 * lines)`, which writes the lines there as one file and runs logs:report over it on one thread.
 */
export function reportInTempDir(prefix: string): (name: string, lines: string[]) => ReturnType<typeof buildReport> {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });
  return async (name, lines) => {
    const file = path.join(dir, name);
    await writeFile(file, lines.join("\n") + "\n");
    return buildReport([file], { threads: 1, progress: { threshold: Infinity } });
  };
}
