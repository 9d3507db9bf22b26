import { execFile, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, open, readFile, rm, stat, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport } from "../../../scripts/logs-report/report.mjs";
import { extract } from "../../../scripts/logs-report/read/extract.mjs";
import { progressMeter } from "../../../scripts/logs-report/read/input.mjs";

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, "../../../scripts/logs-report/cli.mjs");

function requestLine(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1, event: "request", ts: "2026-11-30T10:00:00.000Z", requestId: "r1", traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7", service: "shop", method: "GET", host: "mesh.example.com", path: "/shop/x", status: 200,
    outcome: "ok", instance: "a", attempts: 1, tried: ["a"], failures: [], latencyMs: 10, upstreamLatencyMs: 8,
    bytesIn: 0, bytesOut: null, colo: null, country: null, mode: "snapshot", snapshotVersion: 1, ...over,
  };
}

/** A Workers Trace Events record, as Logpush writes it, whose Logs carry the given console lines. */
function record(messages: unknown[], ts = 1_796_032_800_000): string {
  return JSON.stringify({
    CPUTimeMs: 1, DispatchNamespace: "", Entrypoint: "", Event: { RayID: "x", Request: { URL: "https://m/x", Method: "GET" } },
    EventTimestampMs: ts, EventType: "fetch", Exceptions: [], Outcome: "ok", ScriptName: "switchyard", ScriptTags: [], ScriptVersion: {}, WallTimeMs: 2,
    Logs: messages.map((m) => ({ Level: "log", Message: [typeof m === "string" ? m : JSON.stringify(m)], TimestampMs: ts })),
  });
}

let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "logs-report-test-"));
  await mkdir(path.join(dir, "20261130"), { recursive: true });
  // Two services; one failed over (reset on b, answered by a); one 502 after a timeout; one 404 with no service.
  const lines = [
    record([requestLine()]),
    record([requestLine({ ts: "2026-11-30T10:00:01.000Z", outcome: "failed_over", attempts: 2, tried: ["b", "a"], failures: ["reset"], latencyMs: 30 })]),
    record([requestLine({ ts: "2026-11-30T10:00:02.000Z", status: 502, outcome: "upstream_error", instance: "b", tried: ["b"], failures: ["timeout"], latencyMs: 1000 })]),
    record([requestLine({ service: null, instance: null, tried: [], attempts: 0, status: 404, outcome: "no_route", upstreamLatencyMs: null })]),
    record([{ v: 1, event: "ejection", ts: "2026-11-30T10:00:03.000Z", service: "shop", instance: "b", ejectedUntil: "2026-11-30T10:00:33.000Z", durationMs: 30000, ejections: 1 }]),
    record(["plain console text", { event: "sweep", services: 1 }]),
  ];
  await writeFile(path.join(dir, "20261130", "20261130T100000Z_20261130T100003Z_0a1b2c3d.log.gz"), gzipSync(lines.join("\n") + "\n"));
  // Plain NDJSON of the mesh's own lines, with malformed lines among them.
  const plain = [
    JSON.stringify(requestLine({ service: "search", instance: "s1", tried: ["s1"], latencyMs: 5, path: "/søk/ünïcode" })),
    "{not json",
    JSON.stringify({ v: 1, event: "request", ts: "2026-11-30T10:00:00.000Z", service: "search" }),
    "",
    '{"Logs":[{"Message":["' + '{\\"event\\":\\"request\\",\\"ts\\":3}' + '"]}]}',
    JSON.stringify(requestLine({ service: "search", instance: "s1", tried: ["s1"], latencyMs: 7 })).slice(0, 40),
  ];
  await writeFile(path.join(dir, "plain.ndjson"), plain.join("\r\n"));
  // A gzip cut short: what was read before the cut still counts.
  const whole = gzipSync(Array.from({ length: 2000 }, (_, i) => JSON.stringify(requestLine({ service: "cut", requestId: `c${i}` }))).join("\n"));
  await mkdir(path.join(dir, "cut"));
  await writeFile(path.join(dir, "cut", "broken.log.gz"), whole.subarray(0, Math.floor(whole.length / 2)));
  await writeFile(path.join(dir, "README.md"), "not a log file: skipped in a folder");
});

afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("extract", () => {
  it("reads the mesh lines out of a Logpush record and skips other console output", () => {
    const x = extract(record([requestLine(), "hello", { event: "sweep" }]));
    expect(x.events).toHaveLength(1);
    expect(x.malformed).toBe(0);
  });

  it("reads a record whose Message holds several strings, or escapes beyond quotes, the same way", () => {
    const tricky = requestLine({ path: '/shop/"quoted"\\back\nline' });
    const line = JSON.stringify({ Logs: [{ Level: "log", Message: ["first", JSON.stringify(tricky)] }, { Level: "log", Message: [] }] });
    expect(extract(line).events).toMatchObject([{ path: '/shop/"quoted"\\back\nline' }]);
  });

  it("counts a line that is not JSON, or a mesh event missing a field it needs, as malformed", () => {
    expect(extract("{oops").malformed).toBe(1);
    expect(extract(record([requestLine()]).slice(0, -5)).malformed).toBe(1);
    expect(extract(JSON.stringify({ event: "request", ts: "x" })).malformed).toBe(1);
    expect(extract(record([{ event: "lease_expired", ts: "2026-11-30T10:00:00Z" }])).malformed).toBe(1);
  });
});

describe("buildReport", () => {
  it("reports per service and instance from gzipped Logpush objects and plain NDJSON, skipping malformed lines", async () => {
    const report = await buildReport([dir], { progress: { threshold: Infinity } });
    expect(report.input.files).toBe(3);
    expect(report.input.malformed).toBe(4);
    // Bytes, not characters: the plain file holds multi-byte UTF-8.
    const sizes = await Promise.all(["20261130/20261130T100000Z_20261130T100003Z_0a1b2c3d.log.gz", "plain.ndjson", "cut/broken.log.gz"].map((f) => stat(path.join(dir, f))));
    expect(report.input.bytes).toBe(sizes.reduce((n, s) => n + s.size, 0));
    expect(report.input.unreadable).toHaveLength(1);
    const shop = report.services.find((s) => s.service === "shop");
    expect(shop).toMatchObject({ requests: 3, errors: 1, failovers: 1, coordinatorEvents: { ejection: 1 } });
    expect(shop?.errorRate).toBeCloseTo(1 / 3);
    expect(shop?.latencyMs).toEqual({ p50: 30, p95: 1000, p99: 1000, max: 1000 });
    expect(shop?.topFailures).toEqual([
      { kind: "reset", count: 1 },
      { kind: "timeout", count: 1 },
    ]);
    const b = shop?.instances.find((i) => i.instance === "b");
    expect(b).toMatchObject({ tries: 2, failedTries: 2, answered: 1, errorRate: 1, coordinatorEvents: { ejection: 1 } });
    expect(shop?.instances.find((i) => i.instance === "a")).toMatchObject({ tries: 2, failedTries: 0, answered: 2 });
    // a answered two requests, one of them after b's reset: half of a's answers failed over, none of b's.
    expect(shop?.instances.find((i) => i.instance === "a")?.failoverRate).toBe(0.5);
    expect(b?.failoverRate).toBe(0);
    expect(shop?.series.reduce((n, p) => n + p.requests, 0)).toBe(3);
    // Each instance's series is in the service's buckets, and holds what it answered.
    for (const i of shop?.instances ?? []) expect(i.series.map((p) => p.t)).toEqual(shop?.series.map((p) => p.t));
    expect(b?.series.reduce((n, p) => n + p.requests, 0)).toBe(1);
    expect(b?.series.reduce((n, p) => n + p.errors, 0)).toBe(1);
    expect(report.services.find((s) => s.service === "search")?.requests).toBe(1);
    expect(report.services.find((s) => s.service === "(none)")?.requests).toBe(1);
    // The cut gzip gave what it had before the cut.
    expect(report.services.find((s) => s.service === "cut")?.requests).toBeGreaterThan(0);
  });
});

describe("buildReport, the same file reached twice", () => {
  it("reads a file once however many arguments reach it: twice by name, through its folder, or by a link", async () => {
    const quiet = { progress: { threshold: Infinity } };
    const link = path.join(dir, "..", `${path.basename(dir)}-link.ndjson`);
    await symlink(path.join(dir, "plain.ndjson"), link);
    try {
      const once = await buildReport([dir], quiet);
      const again = [dir, path.join(dir, "plain.ndjson"), path.join(dir, ".", "plain.ndjson"), path.join(dir, "20261130"), link];
      expect(await buildReport(again, quiet)).toEqual(once);
      expect(await buildReport(again, { ...quiet, threads: 2 })).toEqual(once);
    } finally {
      await rm(link, { force: true });
    }
  });

  it("reads standard input once when '-' is given twice", () => {
    const r = spawnSync(process.execPath, [CLI, "--json", "--quiet", "-", "-"], { input: `${JSON.stringify(requestLine())}\n`, encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { input: { files: number }; services: { requests: number }[] };
    expect(report.input.files).toBe(1);
    expect(report.services.map((s) => s.requests)).toEqual([1]);
  });
});

describe("buildReport on worker threads", () => {
  it("builds the same report from files read in parallel as from one thread, cut gzip and progress included", async () => {
    // More files than threads, so a thread reads several and replies arrive out of file order.
    const many = path.join(dir, "many");
    await mkdir(many);
    for (let f = 0; f < 5; f++) {
      const lines = Array.from({ length: 50 }, (_, i) =>
        record([
          requestLine({
            ts: `2026-11-30T10:0${f}:${String(i).padStart(2, "0")}.000Z`, service: ["shop", "search"][i % 2], instance: `i${(f + i) % 3}`, latencyMs: (f * 50 + i) % 17,
            ...((f + i) % 5 !== 0
              ? { tried: [`i${(f + i) % 3}`] }
              : { outcome: "failed_over", attempts: 2, tried: [`i${(f + i + 1) % 3}`, `i${(f + i) % 3}`], failures: ["reset"] }),
          }),
        ]),
      );
      await writeFile(path.join(many, `${f}.log.gz`), gzipSync(lines.join("\n") + "\n"));
    }
    try {
      const written: string[] = [];
      let t = 0;
      const stream = { isTTY: false, write: (s: string) => written.push(s) };
      const one = await buildReport([dir], { threads: 1, progress: { threshold: Infinity } });
      const two = await buildReport([dir], { threads: 2, progress: { threshold: 0, stream, now: () => (t += 2000) } });
      expect(two).toEqual(one);
      expect(JSON.stringify(two)).toBe(JSON.stringify(one));
      expect(one.input.files).toBe(8);
      expect(one.input.unreadable).toHaveLength(1);
      expect(one.services.find((s) => s.service === "search")?.requests).toBe(126);
      // The instances' failover rates and series are merged too. Each file spans under a minute, all of them five:
      // a thread's per-file series is in 1 s buckets, and the merge widens it to the report's 5 s.
      expect(one.bucketSeconds).toBe(5);
      const shop = one.services.find((s) => s.service === "shop");
      const i1 = shop?.instances.find((i) => i.instance === "i1");
      expect(i1?.failoverRate).toBeGreaterThan(0);
      expect(i1?.series.map((p) => p.t)).toEqual(shop?.series.map((p) => p.t));
      expect(i1?.series.reduce((n, p) => n + p.requests, 0)).toBe(i1?.answered);
      const answered = shop?.instances.reduce((n, i) => n + i.answered, 0);
      expect(shop?.series.reduce((n, p) => n + p.requests, 0)).toBe(answered);
      // Every worker's bytes reach the meter: the last line says 100% of the input.
      expect(written.at(-1)).toMatch(/^logs-report: 100\.0% of /);
    } finally {
      await rm(many, { recursive: true, force: true });
    }
  });
});

describe("the CLI", () => {
  it("prints a table, --json, and writes --html with an inline SVG chart and no external assets", async () => {
    const text = await run(process.execPath, [CLI, "--quiet", dir]);
    expect(text.stdout).toContain("service shop");
    expect(text.stdout).toContain("4 malformed line(s) skipped");
    const json = await run(process.execPath, [CLI, "--json", "--quiet", path.join(dir, "plain.ndjson")]);
    const parsed = JSON.parse(json.stdout) as { services: { service: string; requests: number }[]; input: { malformed: number } };
    expect(parsed.services).toEqual([expect.objectContaining({ service: "search", requests: 1 })]);
    expect(parsed.input.malformed).toBe(4);
    const html = path.join(dir, "..", `${path.basename(dir)}.html`);
    try {
      await run(process.execPath, [CLI, "--quiet", "--html", html, dir]);
      const page = await readFile(html, "utf8");
      expect(page).toContain("<svg");
      expect(page).toContain("<polyline");
      expect(page).not.toMatch(/<script|<link|src=|href=/);
    } finally {
      await rm(html, { force: true });
    }
  });

  it("exits 2 with the usage for no input, and 1 naming a path that does not exist, without a stack", async () => {
    await expect(run(process.execPath, [CLI])).rejects.toMatchObject({ code: 2 });
    const missing = run(process.execPath, [CLI, path.join(dir, "missing")]);
    await expect(missing).rejects.toMatchObject({ code: 1 });
    await missing.catch((err: { stderr: string }) => {
      expect(err.stderr).toContain("missing");
      expect(err.stderr).not.toContain("    at ");
    });
  });

  it("--html: no file name exits 2; a place it cannot write exits 1 naming --html in one line, before any input is read", async () => {
    // The input does not exist either: the --html line comes first, so a bad target costs no read of a large input.
    const missing = path.join(dir, "missing");
    const cases: [string[], number, RegExp][] = [
      [["--html=", missing], 2, /^logs-report: --html needs a file name\n/],
      [["--html", path.join(dir, "no-such-folder", "r.html"), missing], 1, /^logs-report: --html .*no-such-folder.*r\.html: its folder does not exist\n$/],
      [["--html", dir, missing], 1, /^logs-report: --html .*: is a folder\n$/],
    ];
    for (const [args, code, message] of cases) {
      const r = run(process.execPath, [CLI, "--quiet", ...args]);
      await expect(r).rejects.toMatchObject({ code });
      await r.catch((err: { stderr: string; stdout: string }) => {
        expect(err.stderr).toMatch(message);
        expect(err.stderr).not.toContain("    at ");
        expect(err.stdout).toBe("");
      });
    }
  });

  it("--html: a write that fails after the report was built exits 1 in one line, no stack", async () => {
    // A name too long for any file system (NAME_MAX is 255 bytes): its folder exists, the write still fails.
    const r = run(process.execPath, [CLI, "--quiet", "--html", path.join(dir, `${"x".repeat(300)}.html`), path.join(dir, "plain.ndjson")]);
    await expect(r).rejects.toMatchObject({ code: 1 });
    await r.catch((err: { stderr: string }) => {
      expect(err.stderr).toMatch(/^logs-report: --html .*x{300}\.html: could not be written \(ENAMETOOLONG/);
      expect(err.stderr.trim().split("\n")).toHaveLength(1);
      expect(err.stderr).not.toContain("    at ");
    });
  });

  it("says on stderr which named folder held no log file, and how many other files it left alone", async () => {
    const rotated = path.join(dir, "..", `${path.basename(dir)}-rotated`);
    await mkdir(path.join(rotated, "empty"), { recursive: true });
    // Names the reader does not take from a folder: a rotated log and a compression it does not read.
    await writeFile(path.join(rotated, "mesh.log.1"), `${JSON.stringify(requestLine())}\n`);
    await writeFile(path.join(rotated, "mesh.log.zst"), "");
    try {
      const r = await run(process.execPath, [CLI, "--quiet", path.join(dir, "plain.ndjson"), rotated, path.join(rotated, "empty")]);
      expect(r.stderr).toBe(
        `logs-report: ${rotated}: no log file in this folder (2 other file(s) left alone; a folder's files are read when named *.log, *.ndjson, *.jsonl, *.json, *.txt, or *.gz)\n` +
          `logs-report: ${path.join(rotated, "empty")}: no log file in this folder (0 other file(s) left alone; a folder's files are read when named *.log, *.ndjson, *.jsonl, *.json, *.txt, or *.gz)\n`,
      );
      // The files it did find are reported as before.
      expect(r.stdout).toContain("service search");
    } finally {
      await rm(rotated, { recursive: true, force: true });
    }
  });

  it("ends quietly when its reader goes away (`| head`), without an EPIPE stack", async () => {
    // A report of 2,000 services, far more than a pipe holds, so the write meets the closed pipe.
    const many = path.join(dir, "..", `${path.basename(dir)}-many.ndjson`);
    await writeFile(many, Array.from({ length: 2000 }, (_, i) => JSON.stringify(requestLine({ service: `s${i}` }))).join("\n"));
    try {
      const child = spawn(process.execPath, [CLI, "--json", "--quiet", many], { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, "close")) as [number | null];
      expect(stderr).toBe("");
      expect(code).toBe(0);
    } finally {
      await rm(many, { force: true });
    }
  });

  it.skipIf(!existsSync("/dev/full"))("says in one line, exit 1, when the report cannot be written (a full disk: /dev/full, Linux only)", async () => {
    const full = await open("/dev/full", "w");
    try {
      const r = spawnSync(process.execPath, [CLI, "--quiet", path.join(dir, "plain.ndjson")], { stdio: ["ignore", full.fd, "pipe"], encoding: "utf8", timeout: 20_000 });
      expect(r.stderr).toMatch(/^logs-report: could not write the report \(ENOSPC[^\n]*\)\n$/);
      expect(r.status).toBe(1);
    } finally {
      await full.close();
    }
  });

  it("shows progress for a large input, at most once a second, and nothing for a small one", () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) };
    let t = 0;
    const meter = progressMeter(2_000_000, { threshold: 1_000_000, stream, now: () => t });
    meter.addBytes(500_000);
    t = 500;
    meter.tick(10);
    expect(lines).toEqual([]);
    t = 2000;
    meter.tick(4000);
    expect(lines).toEqual(["logs-report: 25.0% of 1.9 MiB, 4000 events, 2000 events/s\n"]);
    const small = progressMeter(10, { threshold: 1_000_000, stream, now: () => (t += 5000) });
    small.addBytes(10);
    small.tick(1);
    expect(lines).toHaveLength(1);
  });
});
