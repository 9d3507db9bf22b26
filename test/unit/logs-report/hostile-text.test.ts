import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, "../../../scripts/logs-report/cli.mjs");

/**
 * A log line is input from whoever could write to the Logpush job (any Worker's console
 * output lands in the same records). The text report goes to a terminal, where an ESC
 * sequence in a service name could clear the screen, retitle the window or write the
 * clipboard (OSC 52), and a bidi override could reorder what is shown.
 */
const HOSTILE = {
  service: "\u001b]0;owned\u0007\u001b[2Jshop",
  instance: "\u009b31mcsi-\u202eevil",
  failure: "reset\r\u001b[1A",
};

function line(over: Record<string, unknown>): string {
  return JSON.stringify({
    v: 1, event: "request", ts: "2026-11-30T10:00:00.000Z", requestId: "r", traceId: "t", spanId: "s", service: "shop",
    method: "GET", host: "h", path: "/", status: 200, outcome: "ok", instance: "a", attempts: 1, tried: ["a"], failures: [],
    latencyMs: 5, upstreamLatencyMs: 4, bytesIn: null, bytesOut: null, colo: null, country: null, mode: null, snapshotVersion: 1, ...over,
  });
}

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "logs-report-hostile-"));
  const lines = [
    line({ service: HOSTILE.service, instance: HOSTILE.instance, attempts: 2, tried: [HOSTILE.instance, "a"], failures: [HOSTILE.failure] }),
    line({ ts: "2026-11-30T10:01:00.000Z" }),
  ];
  await writeFile(path.join(dir, "hostile.ndjson"), `${lines.join("\n")}\n`);
});
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("the text report on hostile names", () => {
  it("prints control and bidi characters escaped, never raw, and still names what it saw", async () => {
    const { stdout } = await run(process.execPath, [CLI, "--quiet", path.join(dir, "hostile.ndjson")]);
    // Nothing a terminal acts on: C0 but the line feeds, DEL, C1, and the bidi embeddings, overrides and isolates.
    // eslint-disable-next-line no-control-regex -- the control characters are what must not be there.
    expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(stdout).toContain(String.raw`service \u001b]0;owned\u0007\u001b[2Jshop`);
    expect(stdout).toContain(String.raw`\u009b31mcsi-\u202eevil`);
    expect(stdout).toContain(String.raw`reset\r\u001b[1A×1`);
  });

  it("leaves the JSON report's values as they were read", async () => {
    const { stdout } = await run(process.execPath, [CLI, "--quiet", "--json", path.join(dir, "hostile.ndjson")]);
    const report = JSON.parse(stdout) as { services: { service: string }[] };
    expect(report.services.map((s) => s.service)).toContain(HOSTILE.service);
  });
});
