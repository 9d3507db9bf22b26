// @ts-check
// Command-line flags for `npm run scale-model`: parsed and checked here, with no
// process access, so the CLI's error handling is unit-tested like the model.
import { DEFAULT_INPUTS } from "../model/model.mjs";

/**
 * @typedef {import("../model/model.mjs").ScaleInputs} ScaleInputs
 * @typedef {{ flag: string, key: keyof ScaleInputs | "cpuMsPerRequest", min: number, max: number, integer?: boolean,
 *             below?: number, orZero?: boolean, help: string }} FlagSpec
 * @typedef {{ help: true } | { help: false, json: boolean, inputs: ScaleInputs, cpuMsPerRequest: number }} ParsedArgs
 */

/**
 * Every input flag: the model field it sets, what it means, and the smallest and largest values that make sense.
 * `integer` flags are counts; `below` bounds a fraction; `orZero` takes 0 as well as `min` and up. `max` is the service schema's bound where the flag is a
 * config field (src/core/schema/service.ts), else far past any deployment: a finite but huge value (1e308) made
 * the report print Infinity and "$∞", and --attempts 1e300 looped 1e300 times in triesPerRequest.
 * @type {readonly FlagSpec[]}
 */
export const FLAGS = Object.freeze([
  { flag: "locations", key: "locations", min: 1, max: 10_000, integer: true, help: "Cloudflare locations serving traffic" },
  { flag: "isolates", key: "isolatesPerLocation", min: 1, max: 100_000, integer: true, help: "busy isolates per location" },
  // Not between 0 and 1e-9 (one request in 32 years): spread over 10^15 isolate-services such a rate reaches subnormal
  // doubles, where 1 / rate overflows (the shared refresh printed NaN for --rps 2.7e-309). 1e-9 leaves 1e-24 per isolate.
  { flag: "rps", key: "rps", min: 1e-9, orZero: true, max: 1_000_000_000, help: "client requests per second, whole mesh (0, or 1e-9 and up)" },
  { flag: "services", key: "services", min: 1, max: 1_000_000, integer: true, help: "services (traffic is split evenly)" },
  { flag: "instances", key: "instancesPerService", min: 1, max: 100_000, integer: true, help: "instances per service" },
  { flag: "health-interval", key: "healthIntervalS", min: 1, max: 3_600, help: "health-check interval, seconds" },
  { flag: "lease-ttl", key: "leaseTtlS", min: 5, max: 86_400, help: "instance lease TTL, seconds (heartbeat every third)" },
  { flag: "do-rtt-ms", key: "doRttMs", min: 0, max: 60_000, help: "router to coordinator round trip, ms" },
  { flag: "instance-lifetime-h", key: "instanceLifetimeH", min: 0.001, max: 87_600, help: "mean instance lifetime, hours (register + deregister once)" },
  { flag: "failure-rate", key: "failureRate", min: 0, max: 1, below: 1, help: "share of tries that fail" },
  { flag: "attempts", key: "attempts", min: 1, max: 10, integer: true, help: "retry.attempts" },
  { flag: "per-try-timeout-ms", key: "perTryTimeoutMs", min: 1, max: 60_000, help: "retry.perTryTimeoutMs" },
  { flag: "probe-timeout-ms", key: "probeTimeoutMs", min: 1, max: 30_000, help: "healthCheck.timeoutMs" },
  { flag: "unhealthy-threshold", key: "unhealthyThreshold", min: 1, max: 100, integer: true, help: "healthCheck.unhealthyThreshold" },
  { flag: "consecutive-failures", key: "consecutiveFailures", min: 1, max: 1_000, integer: true, help: "outlier.consecutiveFailures" },
  { flag: "request-log-lines", key: "requestLogLines", min: 0, max: 1, integer: true, help: "lines per proxied request: 1 with REQUEST_LOG=json, 0 with off" },
  { flag: "request-log-sample", key: "requestLogSample", min: 0.000001, max: 1, help: "REQUEST_LOG_SAMPLE: share of plain successes whose line is written (failures always are), 0.000001 to 1" },
  { flag: "workers-logs", key: "workersLogs", min: 0, max: 1, integer: true, help: "1 with wrangler.toml's [observability] enabled, 0 without" },
  { flag: "invocation-logs", key: "invocationLogs", min: 0, max: 1, integer: true, help: "1 with [observability.logs] invocation_logs on (Cloudflare's default), 0 off (as shipped)" },
  { flag: "log-sampling", key: "logSampling", min: 0, max: 1, help: "[observability] head_sampling_rate, 0 to 1" },
  { flag: "logpush", key: "logpush", min: 0, max: 1, integer: true, help: "1 with a Workers Trace Events Logpush job, 0 without" },
  {
    flag: "coordinator-logpush",
    key: "coordinatorLogpush",
    min: 0,
    max: 1,
    integer: true,
    help: "1 when the Logpush job also takes the coordinators' trace events (no filter, as a plain job does), 0 when a filter keeps them out",
  },
  { flag: "cpu-ms", key: "cpuMsPerRequest", min: 0, max: 300_000, help: "Worker CPU ms per client request (cost)" },
]);

/**
 * Flags of the planned leased-slot design, retired now that the built rule sizes the block
 * (src/core/strict/slot-pool.ts): said so in the one-line error instead of "unknown argument".
 * @type {Readonly<Record<string, string>>}
 */
export const RETIRED_FLAGS = Object.freeze({
  "slots-per-lease": "the block size is the built rule now, ceil(picks/s × 250 ms) within 1..256",
  "slot-lease-ms": "slots now void after the built LEASE_MAX_AGE_MS (1 s) or a newer snapshot version",
});

/**
 * The mesh's proxy CPU per request as the bench measured it under Miniflare: 550 µs on 2026-11-30, 352 to
 * 824 µs in the full runs of 2026-12-02 (bench/results/2026-12-02-ba872c1.md, 2026-12-02-302cd7c.md). An
 * upper bound for production, which runs neither Miniflare's entry Worker nor its outbound filter.
 */
export const DEFAULT_CPU_MS = 0.55;

export class UsageError extends Error {}

/**
 * @param {readonly string[]} argv arguments after the script name
 * @returns {ParsedArgs}
 */
export function parseArgs(argv) {
  /** @type {ScaleInputs & { cpuMsPerRequest: number }} */
  const values = { ...DEFAULT_INPUTS, cpuMsPerRequest: DEFAULT_CPU_MS };
  let json = false;
  // One iterator, so a flag written as `--flag value` can take its value from it.
  const args = argv[Symbol.iterator]();
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") return { help: true };
    if (arg === "--json") {
      json = true;
      continue;
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const retired = m === null ? undefined : RETIRED_FLAGS[m[1] ?? ""];
    if (m !== null && retired !== undefined) throw new UsageError(`--${m[1] ?? ""} was retired: ${retired}`);
    const spec = m === null ? undefined : FLAGS.find((f) => f.flag === m[1]);
    if (m === null || spec === undefined) throw new UsageError(`unknown argument '${arg}' (see --help)`);
    const raw = m[2] ?? args.next().value;
    if (raw === undefined) throw new UsageError(`--${spec.flag} needs a value`);
    values[spec.key] = checkValue(spec, raw);
  }
  const { cpuMsPerRequest, ...inputs } = values;
  return { help: false, json, inputs, cpuMsPerRequest };
}

/** @param {FlagSpec} spec @param {string} raw */
function checkValue(spec, raw) {
  // Number("") is 0 and Number(" 1") is 1: accept plain decimal notation only.
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw.trim()) || raw.trim() !== raw) {
    throw new UsageError(`--${spec.flag} must be a number, got '${raw}'`);
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${spec.flag} must be a finite number, got '${raw}'`);
  if (n < spec.min && !(spec.orZero === true && n === 0)) {
    throw new UsageError(`--${spec.flag} must be ${spec.orZero === true ? "0 or " : ""}at least ${spec.min}, got ${raw}`);
  }
  if (n > spec.max) throw new UsageError(`--${spec.flag} must be at most ${spec.max}, got ${raw}`);
  if (spec.below !== undefined && n >= spec.below) throw new UsageError(`--${spec.flag} must be below ${spec.below}, got ${raw}`);
  if (spec.integer === true && !Number.isInteger(n)) throw new UsageError(`--${spec.flag} must be a whole number, got ${raw}`);
  return n;
}

export function usage() {
  const lines = FLAGS.map((f) => `  --${f.flag.padEnd(22)} ${f.help} (default ${f.key === "cpuMsPerRequest" ? DEFAULT_CPU_MS : DEFAULT_INPUTS[f.key]})`);
  return ["usage: npm run scale-model -- [--flag value ...] [--json]", "", ...lines, "  --json                   print the model as JSON", ""].join("\n");
}
