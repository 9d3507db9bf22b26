import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GROUPS, parseArgs, UsageError } from "../../../scripts/chaos/args.mjs";

const ROOT = "/repo";
const RUN = path.resolve(import.meta.dirname, "../../../scripts/chaos/run.mjs");

describe("chaos arguments", () => {
  it("defaults to every group, written to docs/reliability.md", () => {
    expect(parseArgs([], ROOT)).toEqual({ help: false, out: path.join(ROOT, "docs/reliability.md"), only: [...GROUPS] });
  });

  it("reads --out and --only, with a space or an =, the groups in run order and each once", () => {
    expect(parseArgs(["--out", "r.md", "--only=auth,faults,auth"], ROOT)).toEqual({ help: false, out: path.resolve("r.md"), only: ["faults", "auth"] });
    expect(parseArgs(["--out=/tmp/r.md", "--only", "registrations"], ROOT)).toEqual({ help: false, out: "/tmp/r.md", only: ["registrations"] });
    expect(parseArgs(["--help"], ROOT)).toEqual({ help: true });
  });

  it.each([
    // Each of these ran before: an unknown group left nothing to run, and the empty report replaced docs/reliability.md.
    [["--only", "bogus"], /^--only: unknown group 'bogus' \(groups: faults, abuse, registrations, auth\)$/],
    [["--only", "faults,Auth"], /^--only: unknown group 'Auth'/],
    [["--only"], /^--only needs a value$/],
    [["--only="], /^--only needs a value$/],
    [["--only", ","], /^--only needs at least one group$/],
    // Kept the default before: the run wrote over docs/reliability.md.
    [["--out"], /^--out needs a value$/],
    [["--out="], /^--out needs a value$/],
    [["--out", "--only", "auth"], /^--out needs a value, got the flag '--only'$/],
    [["--bogus"], /^unknown argument '--bogus' \(usage: /],
    [["faults"], /^unknown argument 'faults' \(usage: /],
  ])("rejects %j", (argv, message) => {
    expect(() => parseArgs(argv, ROOT)).toThrow(UsageError);
    expect(() => parseArgs(argv, ROOT)).toThrow(message);
  });
});

describe("chaos CLI, bad arguments", () => {
  // Only arguments that must be refused: a run that starts bundles the mesh and takes about a minute.
  function cli(...args: string[]) {
    return spawnSync(process.execPath, [RUN, ...args], { encoding: "utf8", timeout: 20_000 });
  }

  it("exits 2 with one line naming the flag, no stack trace, before anything runs", async () => {
    const tmp = await mkdtemp(path.join(tmpdir(), "chaos-args-"));
    try {
      const cases: [string[], RegExp][] = [
        [["--bogus"], /^chaos: unknown argument '--bogus' \(usage: npm run chaos -- \[--out <file>\] \[--only faults,abuse,registrations,auth\]\)\n$/],
        [["--only", "bogus"], /^chaos: --only: unknown group 'bogus'/],
        [["--out"], /^chaos: --out needs a value/],
        // Checked before the run, not found by the write at its end.
        [["--out", path.join(tmp, "no-such-folder", "r.md")], /^chaos: --out .*no-such-folder.*: its folder does not exist\n$/],
        [["--out", tmp], /^chaos: --out .*: is a folder\n$/],
      ];
      for (const [args, message] of cases) {
        const r = cli(...args);
        expect(r.status, args.join(" ")).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        // Nothing started: the run's first line is "bundling the mesh".
        expect(r.stdout).toBe("");
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it("prints its usage for --help and exits 0 without running", () => {
    const r = cli("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run chaos -- \[--out <file>\] \[--only faults,abuse,registrations,auth\]\n/);
    expect(r.stderr).toBe("");
  });
});
