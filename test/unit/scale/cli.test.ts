import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { closeSync, existsSync, openSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CPU_MS, FLAGS, parseArgs, UsageError } from "../../../scripts/scale/cli/args.mjs";
import { DEFAULT_INPUTS } from "../../../scripts/scale/model/model.mjs";
import { parseLogSample } from "../../../src/core/events/log-sample.js";

const RUN = path.resolve(import.meta.dirname, "../../../scripts/scale/cli/run.mjs");

function cli(...args: string[]) {
  // A timeout, so a run that loops fails the test instead of hanging it.
  return spawnSync(process.execPath, [RUN, ...args], { encoding: "utf8", timeout: 20_000 });
}

describe("scale-model arguments", () => {
  it("defaults every input", () => {
    expect(parseArgs([])).toEqual({ help: false, json: false, inputs: { ...DEFAULT_INPUTS }, cpuMsPerRequest: DEFAULT_CPU_MS });
  });

  it("takes no traffic at all, or from one request in 32 years", () => {
    for (const rps of ["0", "1e-9"]) {
      const parsed = parseArgs(["--rps", rps]);
      if (parsed.help) throw new Error("expected a model run");
      expect(parsed.inputs.rps).toBe(Number(rps));
    }
  });

  it("reads --flag value and --flag=value", () => {
    const parsed = parseArgs(["--services", "1", "--rps=100000", "--json", "--failure-rate", "0.01"]);
    if (parsed.help) throw new Error("expected a model run");
    expect(parsed.json).toBe(true);
    expect(parsed.inputs.services).toBe(1);
    expect(parsed.inputs.rps).toBe(100_000);
    expect(parsed.inputs.failureRate).toBe(0.01);
  });

  it("defaults the logging switches to what wrangler.toml really sets", async () => {
    // wrangler's own reader, so the test reads the file as a deploy would; typed here for the fields it checks.
    const { unstable_readConfig } = (await import("wrangler")) as unknown as { unstable_readConfig: (args: { config: string }) => ShippedConfig };
    const config = unstable_readConfig({ config: "wrangler.toml" });
    const logs = config.observability?.logs;
    expect(DEFAULT_INPUTS.requestLogLines).toBe(config.vars.REQUEST_LOG === "off" ? 0 : 1);
    const sample = config.vars.REQUEST_LOG_SAMPLE;
    expect(DEFAULT_INPUTS.requestLogSample).toBe(typeof sample === "string" ? parseLogSample(sample).rate : 1);
    expect(DEFAULT_INPUTS.workersLogs).toBe(config.observability?.enabled === true && logs?.enabled !== false ? 1 : 0);
    expect(DEFAULT_INPUTS.invocationLogs).toBe(logs?.invocation_logs === false ? 0 : 1);
    expect(DEFAULT_INPUTS.logSampling).toBe(logs?.head_sampling_rate ?? config.observability?.head_sampling_rate ?? 1);
    expect(DEFAULT_INPUTS.logpush).toBe(config.logpush === true ? 1 : 0);
  });

  it("reads the logging switches, defaulting to what wrangler.toml ships", () => {
    const shipped = parseArgs([]);
    if (shipped.help) throw new Error("expected a model run");
    expect([shipped.inputs.requestLogLines, shipped.inputs.workersLogs, shipped.inputs.invocationLogs, shipped.inputs.logSampling, shipped.inputs.logpush]).toEqual([1, 1, 0, 1, 1]);
    const tuned = parseArgs(["--request-log-lines", "0", "--log-sampling=0.01", "--workers-logs", "1", "--invocation-logs", "1", "--logpush", "0"]);
    if (tuned.help) throw new Error("expected a model run");
    expect([tuned.inputs.requestLogLines, tuned.inputs.workersLogs, tuned.inputs.invocationLogs, tuned.inputs.logSampling, tuned.inputs.logpush]).toEqual([0, 1, 1, 0.01, 0]);
    const sampled = parseArgs(["--request-log-sample", "0.01"]);
    if (sampled.help) throw new Error("expected a model run");
    expect([shipped.inputs.requestLogSample, sampled.inputs.requestLogSample]).toEqual([0.1, 0.01]);
  });

  it.each([
    [["--rps", "-5"], /--rps must be 0 or at least 1e-9, got -5/],
    [["--rps", "abc"], /--rps must be a number/],
    [["--rps", ""], /--rps must be a number/],
    [["--locations", "1.5"], /--locations must be a whole number/],
    [["--failure-rate", "1"], /--failure-rate must be below 1/],
    [["--services"], /--services needs a value/],
    [["--bogus", "1"], /unknown argument '--bogus'/],
    [["--rps", "1e999"], /--rps must be a finite number/],
    // Below one request in 32 years the per-isolate rate reaches subnormal doubles (5e-324 over 10^15 isolate-services
    // is 0): 1 / rate overflows and the shared refresh printed NaN.
    [["--rps", "1e-12"], /--rps must be 0 or at least 1e-9, got 1e-12/],
    [["--rps=2.7e-309"], /--rps must be 0 or at least 1e-9, got 2.7e-309/],
    // Finite but past what the model's arithmetic holds: Infinity and "$∞" in the report, or a
    // loop of 1e300 turns (attempts). Bounded by the service schema where the flag is a config field.
    [["--rps", "1e308"], /--rps must be at most 1000000000, got 1e308/],
    [["--attempts", "1e300"], /--attempts must be at most 10/],
    [["--locations", "1e300"], /--locations must be at most/],
    [["--health-interval", "1e308"], /--health-interval must be at most 3600/],
    // The planned design's knobs: the built rule sizes and ages blocks itself.
    [["--slots-per-lease", "64"], /--slots-per-lease was retired: .*250 ms/],
    [["--slot-lease-ms=1000"], /--slot-lease-ms was retired/],
    // The logging switches: a line or none, Workers Logs and a Logpush job on or off, a sampling rate.
    [["--request-log-lines", "2"], /--request-log-lines must be at most 1/],
    [["--workers-logs", "0.5"], /--workers-logs must be a whole number/],
    [["--log-sampling", "1.5"], /--log-sampling must be at most 1/],
    [["--logpush", "-1"], /--logpush must be at least 0/],
    [["--invocation-logs", "2"], /--invocation-logs must be at most 1/],
    // REQUEST_LOG_SAMPLE's own bounds (src/core/events/log-sample.ts): 0 would be "log nothing", which the var refuses.
    [["--request-log-sample", "0"], /--request-log-sample must be at least 0.000001/],
    [["--request-log-sample", "1.5"], /--request-log-sample must be at most 1/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

/** The parts of wrangler.toml, as wrangler reads it, that the scale model's logging defaults mirror. */
interface ShippedConfig {
  vars: Record<string, unknown>;
  logpush?: boolean;
  observability?: { enabled?: boolean; head_sampling_rate?: number; logs?: { enabled?: boolean; head_sampling_rate?: number; invocation_logs?: boolean } };
}

/** Every number in a parsed --json body, with its path. */
function numbersIn(value: unknown, at = "$"): [string, unknown][] {
  if (value === null) return [[at, null]];
  if (typeof value === "number") return [[at, value]];
  if (typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => numbersIn(v, `${at}.${k}`));
}

describe("scale-model CLI", () => {
  it("gives only finite numbers with every flag at its largest accepted value", () => {
    const largest = FLAGS.flatMap((f) => [`--${f.flag}`, String(f.below === undefined ? f.max : 0.999)]);
    const r = cli("--json", ...largest);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // JSON.stringify writes Infinity and NaN as null: no null may appear where a number belongs.
    const bad = numbersIn(JSON.parse(r.stdout)).filter(([, v]) => typeof v !== "number" || !Number.isFinite(v));
    expect(bad).toEqual([]);
    expect(cli(...largest).stdout).not.toMatch(/∞|NaN|Infinity/);
  });

  it("gives only finite numbers for a trickle of traffic over the most isolates", () => {
    // 1e-14 requests/s per isolate and service: the shared refresh's integral printed NaN here.
    const r = cli("--json", "--locations", "10000", "--isolates", "100000", "--services", "1", "--rps", "0.00001");
    expect(r.status).toBe(0);
    const body = JSON.parse(r.stdout) as { load: { byDesign: Record<"snapshot" | "sharedRefresh", { snapshotRefresh: number }> } };
    expect(numbersIn(body).filter(([, v]) => typeof v !== "number" || !Number.isFinite(v))).toEqual([]);
    // So rare a request finds every copy stale: shared or not, each one asks.
    const { snapshot, sharedRefresh } = body.load.byDesign;
    expect(sharedRefresh.snapshotRefresh / snapshot.snapshotRefresh).toBeCloseTo(1, 2);
    // The least traffic accepted over the most services and isolates: 1e-24 requests/s per isolate and service.
    const least = cli("--json", "--locations", "10000", "--isolates", "100000", "--services", "1000000", "--rps", "1e-9");
    expect(least.status).toBe(0);
    expect(numbersIn(JSON.parse(least.stdout)).filter(([, v]) => typeof v !== "number" || !Number.isFinite(v))).toEqual([]);
  });

  it("prints a table by default and JSON with --json", () => {
    const table = cli("--services", "1", "--rps", "100000");
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/snapshot refresh/);
    expect(table.stdout).toMatch(/Platform limits crossed/);
    // The columns name the built designs and the switch that turns each default off.
    for (const column of ["(SNAPSHOT_SHARING=off)", "(default: shared refresh)", "(STRICT_LEASES=off)", "(default: leased slots)"]) expect(table.stdout).toContain(column);
    expect(table.stdout).not.toMatch(/planned/i);
    const json = cli("--json", "--services", "1", "--rps", "100000");
    expect(json.status).toBe(0);
    const body = JSON.parse(json.stdout) as { inputs: { rps: number }; flags: { limit: string }[] };
    expect(body.inputs.rps).toBe(100_000);
    expect(body.flags.some((f) => f.limit === "do-requests")).toBe(true);
  });

  it("ends quietly when its reader is gone before it writes (`| true`), without an EPIPE stack", async () => {
    const child = spawn(process.execPath, [RUN, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "close")) as [number | null];
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it.skipIf(!existsSync("/dev/full"))("says in one line, exit 1, when its output cannot be written (a full disk: /dev/full, Linux only)", () => {
    const full = openSync("/dev/full", "w");
    try {
      for (const args of [[], ["--help"]]) {
        const r = spawnSync(process.execPath, [RUN, ...args], { stdio: ["ignore", full, "pipe"], encoding: "utf8", timeout: 20_000 });
        expect(r.stderr).toMatch(/^scale-model: could not write the report \(ENOSPC[^\n]*\)\n$/);
        expect(r.status).toBe(1);
      }
    } finally {
      closeSync(full);
    }
  });

  it("exits 2 with one clear line, no stack trace, on bad input", () => {
    for (const bad of [["--isolates", "-1"], ["--lease-ttl", "soon"], ["--no-such-flag", "1"], ["--slots-per-lease", "64"], ["--attempts", "1e300"]]) {
      const r = cli(...bad);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^scale-model: (--|unknown argument)/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
