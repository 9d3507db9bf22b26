// @ts-check
// CPU placement and accounting on Linux. On a 2-core machine the load
// generator, the origins and the system under test fight for cores, and
// rows become noisy. When taskset exists we give the system under test
// (workerd, or the nginx / HAProxy proxy) CPU 1 to itself and put the load
// generator and origins on CPU 0, so each row is "one core of proxy". CPU
// time per request is read from /proc and reported next to req/s.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import { findTool } from "./tools.mjs";

const run = promisify(execFile);
const TASKSET = findTool("taskset");
export const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every mainstream Linux build

/** CPU ids for [load side, system under test], or null when pinning is not possible. */
export function pinningPlan() {
  if (TASKSET === null || process.platform !== "linux" || availableParallelism() < 2 || process.env.BENCH_NO_PIN === "1") return null;
  return { load: 0, sut: 1 };
}

/** Pins every thread of `pid` to `cpu` (no-op when pinning is unavailable). @param {number | undefined} pid @param {number} cpu */
export async function pin(pid, cpu) {
  if (TASKSET === null || pid === undefined) return;
  await run(TASKSET, ["-a", "-p", "-c", String(cpu), String(pid)]);
}

/**
 * Prefix for spawning a command on one CPU: ["taskset", "-c", "0", cmd, ...args].
 * @param {number | null | undefined} cpu @param {string} command @param {string[]} args
 * @returns {{ command: string, args: string[] }}
 */
export function onCpu(cpu, command, args) {
  if (TASKSET === null || cpu === null || cpu === undefined) return { command, args };
  return { command: TASKSET, args: ["-c", String(cpu), command, ...args] };
}

/**
 * /proc/<pid>/stat: the command name and the fields after it (fields[1] is
 * the parent pid, [11] utime, [12] stime, [13] cutime, [14] cstime, in ticks).
 * Null when the process is gone.
 * @param {number | string} pid a pid, or a /proc entry name
 * @returns {Promise<{ comm: string, fields: string[] } | null>}
 */
export async function procStat(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    return { comm: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).split(" ") };
  } catch {
    return null;
  }
}

/** utime + stime of the given processes, in milliseconds (all threads). @param {Iterable<number>} pids */
export async function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await procStat(pid);
    if (stat !== null) ticks += Number(stat.fields[11]) + Number(stat.fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Child pids of `pid` (e.g. nginx workers under their master). @param {number} pid @returns {Promise<number[]>} */
export async function childPids(pid) {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
