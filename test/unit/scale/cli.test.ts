import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CPU_MS, parseArgs, UsageError } from "../../../scripts/scale/cli/args.mjs";
import { DEFAULT_INPUTS } from "../../../scripts/scale/model/model.mjs";

const RUN = path.resolve(import.meta.dirname, "../../../scripts/scale/cli/run.mjs");

function cli(...args: string[]) {
  return spawnSync(process.execPath, [RUN, ...args], { encoding: "utf8" });
}

describe("scale-model arguments", () => {
  it("defaults every input", () => {
    expect(parseArgs([])).toEqual({ help: false, json: false, inputs: { ...DEFAULT_INPUTS }, cpuMsPerRequest: DEFAULT_CPU_MS });
  });

  it("reads --flag value and --flag=value", () => {
    const parsed = parseArgs(["--services", "1", "--rps=100000", "--json", "--failure-rate", "0.01"]);
    if (parsed.help) throw new Error("expected a model run");
    expect(parsed.json).toBe(true);
    expect(parsed.inputs.services).toBe(1);
    expect(parsed.inputs.rps).toBe(100_000);
    expect(parsed.inputs.failureRate).toBe(0.01);
  });

  it.each([
    [["--rps", "-5"], /--rps must be at least 0/],
    [["--rps", "abc"], /--rps must be a number/],
    [["--rps", ""], /--rps must be a number/],
    [["--locations", "1.5"], /--locations must be a whole number/],
    [["--failure-rate", "1"], /--failure-rate must be below 1/],
    [["--services"], /--services needs a value/],
    [["--bogus", "1"], /unknown argument '--bogus'/],
    [["--rps", "1e999"], /--rps must be a finite number/],
    // The planned design's knobs: the built rule sizes and ages blocks itself.
    [["--slots-per-lease", "64"], /--slots-per-lease was retired: .*250 ms/],
    [["--slot-lease-ms=1000"], /--slot-lease-ms was retired/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe("scale-model CLI", () => {
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

  it("exits 2 with one clear line, no stack trace, on bad input", () => {
    for (const bad of [["--isolates", "-1"], ["--lease-ttl", "soon"], ["--no-such-flag", "1"], ["--slots-per-lease", "64"]]) {
      const r = cli(...bad);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^scale-model: (--|unknown argument)/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
