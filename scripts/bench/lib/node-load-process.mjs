// Child-process entry: the fallback load generator when wrk is absent.
// Closed loop like wrk: `connections` keep-alive sockets, each sending the next
// GET as soon as the previous answer is read, for `seconds`. Prints one JSON
// line in the same shape as lib/wrk.mjs. Slower than wrk (it is Node), which
// the report states next to the "origin direct" row.
import http from "node:http";
import { performance } from "node:perf_hooks";

const [url, connectionsArg, secondsArg] = process.argv.slice(2);
const connections = Number(connectionsArg);
const seconds = Number(secondsArg);
const target = new URL(url ?? "");
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies = [];
let non2xx = 0;
let socketErrors = 0;
const started = performance.now();
const deadline = started + seconds * 1000;

function once() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host: target.hostname, port: target.port, path: target.pathname + target.search, agent }, (res) => {
      res.on("data", () => {});
      res.on("end", () => {
        latencies.push(performance.now() - t0);
        if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 399) non2xx++;
        resolve();
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", () => {
      socketErrors++;
      resolve();
    });
  });
}

async function lane() {
  while (performance.now() < deadline) await once();
}

await Promise.all(Array.from({ length: connections }, lane));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
process.stdout.write(
  `${JSON.stringify({
    generator: "node",
    requests: latencies.length,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    non2xx,
    socketErrors,
    latencyMs: { p50: q(50), p90: q(90), p99: q(99), p999: q(99.9), mean, max: latencies.at(-1) ?? 0 },
  })}\n`,
);
agent.destroy();
