import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildReport } from "../../../scripts/logs-report/report.mjs";
import { line } from "./request-lines.js";

/** One request line per event, `count` times over, as chunks of about 1 MiB (a stream of its own standing for standard input). */
function piped(count: number): { stream: Readable; bytes: number } {
  const one = Buffer.from(`${JSON.stringify(line())}\n`);
  const perChunk = Math.floor((1 << 20) / one.length);
  const chunk = Buffer.concat(Array.from({ length: perChunk }, () => one));
  const tail = Buffer.concat(Array.from({ length: count % perChunk }, () => one));
  const chunks = [...Array.from({ length: Math.floor(count / perChunk) }, () => chunk), tail];
  return { stream: Readable.from(chunks), bytes: one.length * count };
}

/** A progress sink that keeps what it is given, and a clock that moves 2 s a reading (every tick may print). */
function sink() {
  const written: string[] = [];
  let t = 0;
  return { written, progress: { stream: { isTTY: false, write: (s: string) => written.push(s) }, now: () => (t += 2000) } };
}

describe("gzip on standard input", () => {
  const lines = [line(), line({ outcome: "failed_over", attempts: 2, instance: "b" }), line({ status: 503, outcome: "upstream_error" })].map((l) => JSON.stringify(l)).join("\n") + "\n";

  it("is recognised by its bytes, as a file's is: a Logpush object piped from R2 reads like the plain lines", async () => {
    const quiet = { threshold: Infinity };
    const plain = await buildReport(["-"], { stdin: Readable.from([Buffer.from(lines)]), progress: quiet });
    // Split across chunks, the magic bytes alone in the first.
    const zipped = gzipSync(lines);
    const gz = await buildReport(["-"], { stdin: Readable.from([zipped.subarray(0, 2), zipped.subarray(2)]), progress: quiet });
    expect(plain.input).toMatchObject({ events: 3, malformed: 0 });
    expect(gz.input).toMatchObject({ events: 3, malformed: 0 });
    expect(gz.services).toEqual(plain.services);
  });

  it("is recognised when the first chunk holds one byte of the magic, and the second the other", async () => {
    const zipped = gzipSync(lines);
    // A byte stream, as process.stdin is (Readable.from's default object mode hands out whole chunks, whatever is asked),
    // whose chunks come one at a time, as from a pipe (from an array, all of them would be buffered before the first read).
    const chunks = async function* () {
      yield* [zipped.subarray(0, 1), zipped.subarray(1, 3), zipped.subarray(3)];
    };
    const stdin = Readable.from(chunks(), { objectMode: false });
    const gz = await buildReport(["-"], { stdin, progress: { threshold: Infinity } });
    expect(gz.input).toMatchObject({ events: 3, malformed: 0, bytes: zipped.length });
  });

  it("reads an empty input as no events, and a one-byte input as one line", async () => {
    const report = await buildReport(["-"], { stdin: Readable.from([]), progress: { threshold: Infinity } });
    expect(report.input).toMatchObject({ events: 0, lines: 0 });
    // Half of gzip's magic and nothing after it: not gzip, one (malformed) line.
    const one = await buildReport(["-"], { stdin: Readable.from([Buffer.from([0x1f])], { objectMode: false }), progress: { threshold: Infinity } });
    expect(one.input).toMatchObject({ events: 0, lines: 1, malformed: 1, bytes: 1 });
  });
});

describe("progress for standard input", () => {
  it("once past 32 MiB, prints bytes read so far and events, without a percentage, on the progress sink only", async () => {
    const events = 110_000;
    const input = piped(events);
    // Past the default threshold (32 MiB), which the piped input is not known to reach until it does.
    expect(input.bytes).toBeGreaterThan(36 * 1048576);
    const { written, progress } = sink();
    const report = await buildReport(["-"], { stdin: input.stream, progress });
    expect(report.input).toMatchObject({ files: 1, bytes: input.bytes, events });
    expect(written.length).toBeGreaterThan(0);
    for (const l of written) expect(l).toMatch(/^logs-report: \d+\.\d MiB read, \d+ events, \d+ events\/s\n$/);
    const mib = written.map((l) => Number(/: ([\d.]+) MiB/.exec(l)?.[1]));
    expect(mib[0]).toBeGreaterThanOrEqual(32);
    expect(mib).toEqual([...mib].sort((a, b) => a - b));
    // The report (what --json prints) carries none of it.
    expect(JSON.stringify(report)).not.toContain("logs-report:");
  });

  it("prints nothing for piped input under the threshold", async () => {
    const input = piped(1000);
    const { written, progress } = sink();
    const report = await buildReport(["-"], { stdin: input.stream, progress });
    expect(report.input.events).toBe(1000);
    expect(written).toEqual([]);
  });
});
