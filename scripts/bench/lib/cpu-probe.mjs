// The bench's microbenchmarks run a small Worker in workerd and charge it by
// the workerd process's CPU time: a Worker cannot time itself (its clocks do
// not advance while JavaScript runs), so the cost of N calls is
// (CPU of a request doing N) − (CPU of a request doing none), per call.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { cpuMs } from "./cpu.mjs";
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
