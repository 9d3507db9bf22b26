// @ts-check
// How busy the machine was with work that is not ours. The bench shares its
// cores with whatever else runs (a test suite, an editor); every row records
// the CPU other processes used while it ran, so a noisy row can be spotted
// instead of being mistaken for a regression.
import { readdir, readFile } from "node:fs/promises";
import { procStat, TICKS_PER_SECOND } from "./cpu.mjs";

/** Busy and stolen ticks over all CPUs. "steal" is time the hypervisor gave our vCPUs to someone else. */
async function systemTicks() {
  const text = await readFile("/proc/stat", "utf8");
  const fields = (text.split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const steal = fields[7] ?? 0;
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle - steal, steal };
}

/** This process and every process below it, with their CPU ticks. */
async function ourTicks() {
  /** @type {Map<number, number>} */
  const parentOf = new Map();
  /** @type {Map<number, number>} */
  const ticks = new Map();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await procStat(entry);
    if (stat === null) continue;
    const f = stat.fields;
    parentOf.set(Number(entry), Number(f[1]));
    // utime + stime + cutime + cstime: children that ended (each wrk run) are
    // folded into their parent's cutime/cstime once reaped, so they stay counted.
    ticks.set(Number(entry), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    // Walk up the parent chain; a pid whose parent was not listed ends the walk.
    for (let p = /** @type {number | undefined} */ (pid); p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === process.pid) {
        sum += t;
        break;
      }
    }
  }
  return sum;
}

/**
 * Starts a measurement window; stop() returns, in % of one core, the CPU other
 * processes used and the CPU the hypervisor stole from this VM meanwhile.
 */
export async function foreignLoad() {
  if (process.platform !== "linux") return { stop: async () => ({ foreignCpuPercent: null, stealPercent: null }) };
  const t0 = Date.now();
  const sys0 = await systemTicks();
  const ours0 = await ourTicks();
  return {
    async stop() {
      const seconds = (Date.now() - t0) / 1000;
      const sys = await systemTicks();
      const ours = (await ourTicks()) - ours0;
      /** @param {number} ticks */
      const pct = (ticks) => Math.max(0, (ticks / TICKS_PER_SECOND / seconds) * 100);
      return { foreignCpuPercent: pct(sys.busy - sys0.busy - ours), stealPercent: pct(sys.steal - sys0.steal) };
    },
  };
}
