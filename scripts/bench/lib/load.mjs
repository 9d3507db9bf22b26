// One entry point for closed-loop load: wrk when installed, otherwise the Node
// generator in a child process (so it never shares an event loop with origins).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { onCpu } from "./cpu.mjs";
import { startProcess } from "./procs.mjs";
import { runWrk } from "./wrk.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * @typedef {{ generator: string, requests: number, seconds: number, rps: number, non2xx: number, socketErrors: number,
 *             latencyMs: { p50: number, p90: number, p99: number, p999: number, mean: number, max: number } }} LoadResult
 * @param {{ wrk: string | null }} tools
 * @param {{ url: string, connections: number, seconds: number, cpu?: number | null }} opts
 * @returns {Promise<LoadResult>}
 */
export async function closedLoop(tools, opts) {
  if (tools.wrk !== null) return runWrk(tools.wrk, opts);
  const cmd = onCpu(opts.cpu, process.execPath, [path.join(HERE, "node-load-process.mjs"), opts.url, String(opts.connections), String(opts.seconds)]);
  const proc = startProcess(cmd.command, cmd.args, { name: "node load generator" });
  const { code } = await proc.exited;
  const line = proc.output.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`node load generator failed (${code}):\n${proc.output}`);
  return JSON.parse(line);
}
