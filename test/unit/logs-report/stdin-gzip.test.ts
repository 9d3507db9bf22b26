import { spawn } from "node:child_process";
import { watch } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildReport } from "../../../scripts/logs-report/report.mjs";
import { line } from "./request-lines.js";

/**
 * Gzip on standard input that gunzip cannot read to its end (zero padding between members, a damaged
 * member, a plain tail) is read again member by member from a copy kept as it was read, as a file is:
 * gunzip alone stops without a word at zero padding and drops what its failing step decoded.
 */
const CLI = path.resolve(import.meta.dirname, "../../../scripts/logs-report/cli.mjs");

/** `count` request lines of `service`, as NDJSON. */
const lines = (service: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${JSON.stringify(line({ service, requestId: `${service}-${i}` }))}\n`).join("");

const requests = (report: Awaited<ReturnType<typeof buildReport>>, service: string) => report.services.find((s) => s.service === service)?.requests ?? 0;

/** A byte stream, as process.stdin is, in pipe-sized chunks. */
function piped(bytes: Buffer): Readable {
  const chunks = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
  return Readable.from(chunks, { objectMode: false });
}

const quiet = { threshold: Infinity };

// Each test's temporary copy goes to a folder of its own, which must be empty again after.
let tmp = "";
const savedTmpdir = process.env.TMPDIR;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "stdin-gzip-"));
  process.env.TMPDIR = tmp;
});
afterEach(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await rm(tmp, { recursive: true, force: true });
});

describe("gzip on standard input that gunzip cannot read to its end", () => {
  const a = gzipSync(lines("a", 500));
  const b = gzipSync(lines("b", 700));

  it("reads every member after zero padding between them, as no damage, and leaves no copy behind", async () => {
    const report = await buildReport(["-"], { stdin: piped(Buffer.concat([a, Buffer.alloc(8), b])), progress: quiet });
    expect([requests(report, "a"), requests(report, "b")]).toEqual([500, 700]);
    expect(report.input).toMatchObject({ unreadable: [], bytes: a.length + 8 + b.length });
    expect(await readdir(tmp)).toEqual([]);
  });

  it("keeps the intact member's lines before a tail that is no gzip, and counts the tail as damage", async () => {
    const tail = Buffer.from(lines("plain", 10));
    const report = await buildReport(["-"], { stdin: piped(Buffer.concat([a, tail])), progress: quiet });
    expect(requests(report, "a")).toBe(500);
    expect(report.input.unreadable).toEqual([{ file: "-", error: "bytes that are no gzip member", damagedMembers: 1, damagedBytes: tail.length }]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("reads the members around a damaged one, as from a file", async () => {
    const damaged = Buffer.from(b);
    damaged.fill(0xff, b.length >> 1, (b.length >> 1) + 64);
    const report = await buildReport(["-"], { stdin: piped(Buffer.concat([a, damaged, a])), progress: quiet });
    expect(requests(report, "a")).toBe(1000);
    expect(report.input.unreadable).toEqual([{ file: "-", error: expect.any(String) as unknown, damagedMembers: 1, damagedBytes: b.length }]);
  });

  it("removes its copy when interrupted (SIGINT), and still ends by the signal", async () => {
    const child = spawn(process.execPath, [CLI, "--quiet", "-"], { env: { ...process.env, TMPDIR: tmp }, stdio: ["pipe", "ignore", "ignore"] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    // The copy's folder appears once the input is known to be gzip; the CLI then waits for more input.
    const copied = new Promise<void>((resolve) => {
      const watcher = watch(tmp, () => {
        watcher.close();
        resolve();
      });
    });
    child.stdin.write(a);
    await copied;
    child.kill("SIGINT");
    expect(await exited).toBe("SIGINT");
    expect(await readdir(tmp)).toEqual([]);
  });
});
