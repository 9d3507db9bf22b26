// @ts-check
// Runs wrk (Debian's wrk 4.x) and reads its results from a Lua done() hook as
// JSON, so nothing depends on wrk's human-readable output format.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { onCpu } from "./cpu.mjs";
import { tempDir } from "./temp.mjs";

const DONE_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end
`;

/** @type {string | null} */
let scriptPath = null;
async function doneScript() {
  if (scriptPath === null) {
    const dir = await tempDir("wrk");
    scriptPath = path.join(dir, "done.lua");
    await writeFile(scriptPath, DONE_LUA);
  }
  return scriptPath;
}

/**
 * Closed-loop load: `connections` keep-alive connections, each sending the
 * next request as soon as the previous answer arrives, for `seconds`.
 * @param {string} bin
 * @param {{ url: string, connections: number, threads?: number, seconds: number, cpu?: number | null }} opts
 * @returns {Promise<import("./load.mjs").LoadResult>}
 */
export async function runWrk(bin, { url, connections, threads = 1, seconds, cpu = null }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "-s", await doneScript(), url];
  const out = await new Promise((resolve, reject) => {
    const cmd = onCpu(cpu, bin, args);
    const child = spawn(cmd.command, cmd.args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  const line = /^WRKJSON (.*)$/m.exec(out);
  if (line?.[1] === undefined) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line[1]);
  const seconds_ = r.durationUs / 1e6;
  const errors = r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout;
  return {
    generator: "wrk",
    requests: r.requests,
    seconds: seconds_,
    rps: r.requests / seconds_,
    non2xx: r.errors.status,
    socketErrors: errors,
    latencyMs: {
      p50: r.latencyUs.p50 / 1000,
      p90: r.latencyUs.p90 / 1000,
      p99: r.latencyUs.p99 / 1000,
      p999: r.latencyUs.p999 / 1000,
      mean: r.latencyUs.mean / 1000,
      max: r.latencyUs.max / 1000,
    },
  };
}
