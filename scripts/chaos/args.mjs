// @ts-check
// Command-line flags for `npm run chaos`, parsed here with no process access, so a
// bad one is unit-tested without starting a run (which bundles the mesh and takes
// about a minute). Before, an unknown `--only` group ran nothing and a missing
// `--out` value kept the default: either way the run wrote over docs/reliability.md.
import path from "node:path";

/** The case groups, in the order a run takes them. */
export const GROUPS = Object.freeze(["faults", "abuse", "registrations", "auth"]);

export const USAGE = `usage: npm run chaos -- [--out <file>] [--only ${GROUPS.join(",")}]`;

export class UsageError extends Error {}

/**
 * @typedef {{ help: true } | { help: false, out: string, only: string[] }} ChaosArgs
 */

/**
 * @param {readonly string[]} argv arguments after the script name
 * @param {string} root the repository, where the default report goes
 * @returns {ChaosArgs}
 */
export function parseArgs(argv, root) {
  let out = path.join(root, "docs/reliability.md");
  /** @type {string[]} */
  let only = [...GROUPS];
  // One iterator, so a flag written as `--flag value` can take its value from it.
  const args = argv[Symbol.iterator]();
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") return { help: true };
    const m = /^--(out|only)(?:=(.*))?$/s.exec(arg);
    const flag = m?.[1];
    if (m === null || flag === undefined) throw new UsageError(`unknown argument '${arg}' (${USAGE})`);
    const inline = m[2];
    const value = inline ?? args.next().value;
    if (value === undefined || value === "") throw new UsageError(`--${flag} needs a value`);
    // `--out --only auth`: the next flag is not a file name (`--out=--x` still names one).
    if (inline === undefined && value.startsWith("--")) throw new UsageError(`--${flag} needs a value, got the flag '${value}'`);
    if (flag === "out") out = path.resolve(value);
    else only = parseGroups(value);
  }
  return { help: false, out, only };
}

/** @param {string} value a comma-separated list of groups */
function parseGroups(value) {
  const names = value.split(",").filter((g) => g !== "");
  if (names.length === 0) throw new UsageError("--only needs at least one group");
  const unknown = names.find((g) => !GROUPS.includes(g));
  if (unknown !== undefined) throw new UsageError(`--only: unknown group '${unknown}' (groups: ${GROUPS.join(", ")})`);
  return GROUPS.filter((g) => names.includes(g));
}
