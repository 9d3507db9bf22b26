// The bench's microbenchmarks run a small Worker in workerd and charge it by
// the workerd process's CPU time: a Worker cannot time itself (its clocks do
// not advance while JavaScript runs), so the cost of N calls is
// (CPU of a request doing N) − (CPU of a request doing none), per call.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { cpuMs } from "./cpu.mjs";
import { median, round } from "./stats.mjs";
import { removeTempDirs } from "./temp.mjs";
import { bundleWorker, ROOT, startWorkerTracked } from "./worker-runtime.mjs";

/**
 * Bundles and starts the Worker whose `index.js` (and whatever it imports)
 * `dir` already holds. `cpuFor(query)` sends `GET /?query` and returns the
 * workerd CPU milliseconds the request cost; an answer that is not 2xx, or
 * that `check` refuses, throws. `onStdout` takes the Worker's console lines
 * instead of this process's stdout (a probe that logs per call).
 * @param {{ name: string, dir: string, check?: (text: string) => boolean, onStdout?: (line: string) => void }} opts
 * `url` and `pids` let a caller put load on the Worker and charge it (scripts/bench/log-micro.mjs).
 * @returns {Promise<{ cpuFor: (query: string) => Promise<number>, dispose: () => Promise<void>, url: string, pids: number[] }>}
 */
export async function startCpuProbe({ name, dir, check = () => true, onStdout }) {
  await writeFile(path.join(dir, "wrangler.toml"), `name = "${name}"\nmain = "index.js"\ncompatibility_date = "2026-04-20"\n`);
  const config = path.relative(ROOT, path.join(dir, "wrangler.toml"));
  const bundleDir = await bundleWorker({ config, outdir: path.join(dir, "dist") });
  const { worker, pids } = await startWorkerTracked({ bundleDir, config, onStdout });
  /** @param {string} query */
  const cpuFor = async (query) => {
    const c0 = await cpuMs(pids);
    const res = await fetch(`${worker.url}/?${query}`);
    const text = await res.text();
    if (!res.ok || !check(text)) throw new Error(`${name} answered ${res.status}: ${text.slice(0, 200)}`);
    return (await cpuMs(pids)) - c0;
  };
  return { cpuFor, dispose: () => worker.dispose(), url: worker.url, pids };
}

/**
 * µs of workerd CPU per call: `query` (n calls) against `baseQuery` (the
 * same request without them), measured back to back so background load hits
 * both alike.
 * @param {(query: string) => Promise<number>} cpuFor
 * @param {string} baseQuery @param {string} query @param {number} n
 */
export async function usPerCall(cpuFor, baseQuery, query, n) {
  const base = await cpuFor(baseQuery);
  const cost = await cpuFor(query);
  return ((cost - base) * 1e3) / n;
}

/**
 * `rounds` rounds of every mode (`mode=<m>&n=<n>`), each against the
 * `base` mode in its own round, after one JIT warm-up request per mode:
 * µs per call, every round, by mode.
 * @param {(query: string) => Promise<number>} cpuFor
 * @param {{ base: string, modes: string[], n: number, rounds: number }} opts
 * @returns {Promise<Record<string, number[]>>}
 */
export async function pairedModeRounds(cpuFor, { base, modes, n, rounds }) {
  for (const m of [base, ...modes]) await cpuFor(`mode=${m}&n=20000`);
  /** @type {Record<string, number[]>} */
  const perMode = Object.fromEntries(modes.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    for (const m of modes) perMode[m]?.push(await usPerCall(cpuFor, `mode=${base}&n=${n}`, `mode=${m}&n=${n}`, n));
  }
  return perMode;
}

/**
 * A whole mode microbenchmark over the Worker in `dir` (startCpuProbe):
 * pairedModeRounds, then the Worker stopped and the temp dirs removed
 * whatever happened; each mode's median µs per call and its rounds,
 * rounded to `digits`.
 * @param {{ name: string, dir: string, base: string, modes: string[], n: number, rounds: number, digits?: number }} opts
 * @returns {Promise<Record<string, { usPerRequest: number, rounds: number[] }>>}
 */
export async function measureModes({ name, dir, base, modes, n, rounds, digits = 2 }) {
  const { cpuFor, dispose } = await startCpuProbe({ name, dir });
  /** @type {Record<string, number[]>} */
  let perMode = {};
  try {
    perMode = await pairedModeRounds(cpuFor, { base, modes, n, rounds });
  } finally {
    await dispose();
    await removeTempDirs();
  }
  return Object.fromEntries(
    modes.map((m) => {
      const xs = perMode[m] ?? [];
      return [m, { usPerRequest: round(median(xs), digits), rounds: xs.map((x) => round(x, digits)) }];
    }),
  );
}
