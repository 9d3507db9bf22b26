import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { constants, deflateRawSync, gzipSync, inflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport } from "../../../scripts/logs-report/report.mjs";
import { line, record } from "./request-lines.js";

/**
 * A gzip file is often several members one after another (`cat a.gz b.gz`),
 * and one of them can be damaged: every line of the intact members is read,
 * the lines of a damaged member up to its damage, and the damage is counted.
 */
const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, "../../../scripts/logs-report/cli.mjs");
const LINES = 3000;

/** One gzip member of LINES Logpush records, each a request of `service` with its own id and latency. */
function member(service: string): Buffer {
  const text = Array.from({ length: LINES }, (_, i) => record(JSON.stringify(line({ service, requestId: `${service}-${i}`, latencyMs: (i * 7919) % 1000 })))).join("\n");
  return gzipSync(`${text}\n`);
}

/**
 * How many whole lines the deflate data of `gz` (a member gzipSync wrote: a 10-byte header) holds
 * before byte `end`: what a reader can decode of a member damaged from there on.
 */
function linesBefore(gz: Buffer, end: number): number {
  const text = inflateRawSync(gz.subarray(10, end), { finishFlush: constants.Z_SYNC_FLUSH }).toString("utf8");
  return text.split("\n").length - 1;
}

const requests = (report: Awaited<ReturnType<typeof buildReport>>, service: string) => report.services.find((s) => s.service === service)?.requests ?? 0;

let dir = "";
const a = member("a");
const b = member("b");
const c = member("c");
/** Where b is damaged: half-way through its deflate data. */
const DAMAGE = Math.floor(b.length / 2);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "logs-report-gzip-"));
});

afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

async function file(name: string, ...parts: Buffer[]): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, Buffer.concat(parts));
  return p;
}

describe("logs:report on a gzip file with a damaged member", () => {
  it("reads every line of the members around a member whose deflate data is damaged, and that member up to the damage", async () => {
    const damaged = Buffer.from(b);
    damaged.fill(0xff, DAMAGE, DAMAGE + 64);
    const p = await file("middle.log.gz", a, damaged, c);
    const report = await buildReport([p], { progress: { threshold: Infinity } });
    expect(requests(report, "a")).toBe(LINES);
    expect(requests(report, "c")).toBe(LINES);
    // Node's gunzip dropped what its last step decoded: a whole file this small, the lines of a included.
    expect(requests(report, "b")).toBeGreaterThanOrEqual(linesBefore(b, DAMAGE));
    expect(requests(report, "b")).toBeLessThan(LINES);
    expect(report.input.unreadable).toEqual([{ file: p, error: expect.any(String) as unknown, damagedMembers: 1, damagedBytes: b.length }]);
    expect(report.input.bytes).toBe(a.length + b.length + c.length);
  });

  it("reads a damaged member up to the very step of its damage, which zlib hands out nothing of", async () => {
    // A member whose deflate data stops at a flush point after 2000 lines (byte-aligned), then an invalid block type.
    const text = Array.from({ length: 2000 }, (_, i) => record(JSON.stringify(line({ service: "b", requestId: `b-${i}` })))).join("\n");
    const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    const flushed = deflateRawSync(`${text}\n`, { finishFlush: constants.Z_FULL_FLUSH });
    const broken = Buffer.concat([header, flushed, Buffer.from([0x07, 0x00, 0x00])]);
    const p = await file("flush-point.log.gz", a, broken, c);
    const report = await buildReport([p], { progress: { threshold: Infinity } });
    expect(requests(report, "a")).toBe(LINES);
    expect(requests(report, "b")).toBe(2000);
    expect(requests(report, "c")).toBe(LINES);
    expect(report.input.malformed).toBe(0);
    expect(report.input.unreadable).toEqual([{ file: p, error: "invalid block type", damagedMembers: 1, damagedBytes: broken.length }]);
  });

  it("finds the next member inside a cut one (its header read as the cut one's data)", async () => {
    const p = await file("cut-between.log.gz", a, b.subarray(0, DAMAGE), c);
    const report = await buildReport([p], { progress: { threshold: Infinity } });
    expect(requests(report, "a")).toBe(LINES);
    expect(requests(report, "b")).toBeGreaterThanOrEqual(linesBefore(b, DAMAGE));
    expect(requests(report, "c")).toBe(LINES);
    expect(report.input.unreadable).toEqual([{ file: p, error: expect.any(String) as unknown, damagedMembers: 1, damagedBytes: DAMAGE }]);
  });

  it("skips bytes between members that are no member, and zero padding without calling it damage", async () => {
    const junk = await file("junk.log.gz", a, Buffer.from("not gzip at all\n"), c);
    const padded = await file("padded.log.gz", a, Buffer.alloc(512), c, Buffer.alloc(100));
    const report = await buildReport([junk, padded], { progress: { threshold: Infinity } });
    expect(requests(report, "a")).toBe(2 * LINES);
    expect(requests(report, "c")).toBe(2 * LINES);
    expect(report.input.unreadable).toEqual([{ file: junk, error: "bytes that are no gzip member", damagedMembers: 1, damagedBytes: 16 }]);
  });

  it("skips a member whose header is damaged, and counts a CRC mismatch as damage while keeping its lines", async () => {
    const badHeader = Buffer.from(b);
    badHeader[3] = 0xe0; // reserved flag bits
    const badCrc = Buffer.from(b);
    badCrc.writeUInt32LE((badCrc.readUInt32LE(b.length - 8) ^ 1) >>> 0, b.length - 8);
    const p = await file("headers.log.gz", a, badHeader, c, badCrc);
    const report = await buildReport([p], { progress: { threshold: Infinity } });
    expect(requests(report, "a")).toBe(LINES);
    expect(requests(report, "c")).toBe(LINES);
    expect(requests(report, "b")).toBe(LINES);
    expect(report.input.unreadable).toEqual([{ file: p, error: "bytes that are no gzip member", damagedMembers: 2, damagedBytes: 2 * b.length }]);
  });

  it("reads a cut last member up to the cut, and intact multi-member files with no damage", async () => {
    const cut = await file("cut-end.log.gz", a, b.subarray(0, DAMAGE));
    const whole = await file("whole.log.gz", a, b, c);
    const report = await buildReport([cut, whole], { progress: { threshold: Infinity } });
    expect(requests(report, "a")).toBe(2 * LINES);
    expect(requests(report, "b") - LINES).toBeGreaterThanOrEqual(linesBefore(b, DAMAGE));
    expect(requests(report, "c")).toBe(LINES);
    expect(report.input.unreadable).toEqual([{ file: cut, error: "unexpected end of file", damagedMembers: 1, damagedBytes: DAMAGE }]);
  });

  it("gives the same report on worker threads, and the CLI says on stderr and in the table what it could not read", async () => {
    const damaged = Buffer.from(b);
    damaged.fill(0xff, DAMAGE, DAMAGE + 64);
    const one = await file("t1.log.gz", a, damaged, c);
    const two = await file("t2.log.gz", c, Buffer.from("junk"), a);
    const single = await buildReport([one, two], { threads: 1, progress: { threshold: Infinity } });
    const parallel = await buildReport([one, two], { threads: 2, progress: { threshold: Infinity } });
    expect(parallel).toEqual(single);
    expect(requests(single, "a")).toBe(2 * LINES);
    const out = await run(process.execPath, [CLI, "--quiet", one, two]);
    expect(out.stderr).toContain(`logs-report: ${one}: 1 damaged gzip member(s), ${b.length} compressed byte(s) unreadable`);
    expect(out.stderr).toContain(`logs-report: ${two}: 1 damaged gzip member(s), 4 compressed byte(s) unreadable`);
    expect(out.stdout).toContain(`2 file(s) damaged: 2 gzip member(s) and ${b.length + 4} compressed byte(s) unreadable, every other line read`);
  });
});
