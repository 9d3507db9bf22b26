#!/usr/bin/env node
// @ts-check
// `npm run logs:bench [-- --events N]`: writes N synthetic request events
// (default 1,000,000) as Workers Trace Events Logpush records, gzipped, into a
// temporary folder, then times buildReport over it: the same reader, parser and
// aggregation the CLI runs. Target: at least 200,000 events/s.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { buildReport } from "./report.mjs";

const TARGET_EVENTS_PER_SECOND = 200_000;
/** Events per record: a Logpush record is one Worker invocation, which prints one request line. */
const PER_FILE = 100_000;

const { values } = parseArgs({ options: { events: { type: "string" } } });
const total = Number(values.events ?? "1000000");
if (!Number.isInteger(total) || total <= 0) throw new Error("--events must be a positive integer");

/** Deterministic pseudo-random numbers (mulberry32), so every run reads the same input. */
function rng(seed = 42) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng();
const SERVICES = ["shop", "search", "auth", "media"];
const INSTANCES = Array.from({ length: 8 }, (_, i) => `inst${i.toString(16).padStart(12, "0")}`);
const START = Date.parse("2026-11-30T10:00:00Z");

/**
 * One Logpush record holding one request line. Built as a template rather
 * than with two JSON.stringify calls per event: generating the input should
 * not take longer than reading it.
 * @param {number} i
 */
function record(i) {
  const ts = START + i * 3;
  const service = SERVICES[i % SERVICES.length] ?? "shop";
  const failedOver = random() < 0.03;
  const first = INSTANCES[Math.floor(random() * INSTANCES.length)] ?? "";
  const second = INSTANCES[Math.floor(random() * INSTANCES.length)] ?? "";
  const status = random() < 0.01 ? 502 : 200;
  const latencyMs = Math.floor(2 + random() * random() * 200);
  const outcome = status === 502 ? "upstream_error" : failedOver ? "failed_over" : "ok";
  const tried = failedOver ? `[\\"${first}\\",\\"${second}\\"]` : `[\\"${first}\\"]`;
  const iso = new Date(ts).toISOString();
  // The event line, JSON-escaped once more because it is a string inside the record's Logs.
  const event =
    `{\\"v\\":1,\\"event\\":\\"request\\",\\"ts\\":\\"${iso}\\",\\"requestId\\":\\"8e${i.toString(16)}-LHR\\",` +
    `\\"traceId\\":\\"4bf92f3577b34da6a3ce929d0e0e4736\\",\\"spanId\\":\\"00f067aa0ba902b7\\",\\"service\\":\\"${service}\\",` +
    `\\"method\\":\\"GET\\",\\"host\\":\\"mesh.example.com\\",\\"path\\":\\"/${service}/items\\",\\"status\\":${status},` +
    `\\"outcome\\":\\"${outcome}\\",\\"instance\\":\\"${failedOver ? second : first}\\",\\"attempts\\":${failedOver ? 2 : 1},` +
    `\\"tried\\":${tried},\\"failures\\":${failedOver ? `[\\"reset\\"]` : "[]"},\\"latencyMs\\":${latencyMs},` +
    `\\"upstreamLatencyMs\\":${Math.max(0, latencyMs - 1)},\\"bytesIn\\":0,\\"bytesOut\\":512,\\"colo\\":\\"LHR\\",` +
    `\\"country\\":\\"GB\\",\\"mode\\":\\"snapshot\\",\\"snapshotVersion\\":7}`;
  return (
    `{"CPUTimeMs":1,"DispatchNamespace":"","Entrypoint":"","EventTimestampMs":${ts},"EventType":"fetch",` +
    `"Event":{"RayID":"8e${i.toString(16)}","Request":{"URL":"https://mesh.example.com/${service}/items","Method":"GET"},"Response":{"Status":${status}}},` +
    `"Exceptions":[],"Logs":[{"Level":"log","Message":["${event}"],"TimestampMs":${ts}}],` +
    `"Outcome":"ok","ScriptName":"switchyard","ScriptTags":[],"ScriptVersion":{},"WallTimeMs":${latencyMs}}`
  );
}

const dir = await mkdtemp(path.join(tmpdir(), "logs-bench-"));
try {
  const made = Date.now();
  for (let f = 0; f * PER_FILE < total; f++) {
    const lines = [];
    for (let i = f * PER_FILE; i < Math.min(total, (f + 1) * PER_FILE); i++) lines.push(record(i));
    await writeFile(path.join(dir, `${String(f).padStart(4, "0")}.log.gz`), gzipSync(lines.join("\n") + "\n"));
  }
  process.stderr.write(`generated ${total} events in ${((Date.now() - made) / 1000).toFixed(1)} s\n`);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const report = await buildReport([dir], { progress: { threshold: Infinity } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  // CPU seconds too: on a shared machine the wall clock measures the neighbours as much as the reader.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rate = report.input.events / seconds;
  const result = {
    events: report.input.events,
    seconds: Number(seconds.toFixed(2)),
    cpuSeconds: Number(cpuSeconds.toFixed(2)),
    eventsPerSecond: Math.round(rate),
    eventsPerCpuSecond: Math.round(report.input.events / cpuSeconds),
    target: TARGET_EVENTS_PER_SECOND,
    met: rate >= TARGET_EVENTS_PER_SECOND,
    peakRssMiB: Math.round(process.memoryUsage().rss / 1048576),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (report.input.events !== total) throw new Error(`read ${report.input.events} events, wrote ${total}`);
  if (!result.met) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
