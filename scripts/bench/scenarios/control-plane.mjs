// Scenario 5: control-plane throughput into ONE service's coordinator. For a
// bounded time, 16 concurrent clients POST registrations with distinct URLs
// (each new member is one SQLite row and one KV mirror write), then PUT
// heartbeats on the registered ids round-robin (one SQLite column). Health
// checks are set to an hour so probes do not share the DO's time.
import http from "node:http";
import { performance } from "node:perf_hooks";
import { latencySummary, round } from "../lib/stats.mjs";

// The coordinator caps members per service (MAX_INSTANCES in src/coordinator/); the
// registration phase ends at the first 409 that says so, or at this many.
const MAX_REGISTRATIONS = 5000;

/**
 * @param {{ mesh: ReturnType<typeof import("../lib/mesh-client.mjs").meshClient>, quick: boolean, log: (s: string) => void }} ctx
 */
export async function controlPlane({ mesh, quick, log }) {
  const seconds = quick ? 2 : 5;
  const concurrency = 16;
  const service = "control-plane";
  const token = await mesh.putService(service, {
    routes: { pathPrefixes: ["/control-plane"] },
    healthCheck: { intervalSeconds: 3600, timeoutMs: 1000 },
  });
  const base = new URL(mesh.base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

  function request(method, path, body) {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.request({ host: base.hostname, port: base.port, method, path, agent, headers }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - t0 }));
      });
      req.on("error", (err) => resolve({ status: 0, body: String(err), ms: performance.now() - t0 }));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async function phase(name, next) {
    const lat = [];
    let capped = false;
    let ok = 0;
    let failed = 0;
    let lastOkAt = 0;
    const errors = new Set();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          // The service's instance cap ends the phase for every lane.
          if (capped || performance.now() >= deadline) return;
          const call = next();
          if (call === null) return;
          const r = await request(...call.args);
          if (call.isCap?.(r)) {
            capped = true;
            continue;
          }
          lat.push(r.ms);
          if (r.status === call.expect) {
            ok++;
            lastOkAt = performance.now();
            call.onOk?.(r);
          } else {
            failed++;
            errors.add(`${r.status} ${r.body.slice(0, 120)}`);
          }
        }
      }),
    );
    // When the cap ended the phase early, the rate is over the time the successes took.
    const elapsed = ((capped && lastOkAt > 0 ? lastOkAt : performance.now()) - started) / 1000;
    const s = latencySummary(lat);
    const result = { perSecond: round(ok / elapsed, 0), ok, failed, seconds: round(elapsed, 2), p50Ms: round(s.p50, 2), p99Ms: round(s.p99, 2), errorSamples: [...errors].slice(0, 3) };
    log(`control plane: ${name} ${result.perSecond}/s (p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${failed} failed)`);
    return { result, capped };
  }

  log(`control plane: ${concurrency} concurrent clients, ${seconds} s per phase, one service`);
  const ids = [];
  let n = 0;
  const { result: registrations, capped: hitCap } = await phase("registrations", () => {
    if (n >= MAX_REGISTRATIONS) return null;
    const i = n++;
    return {
      args: ["POST", `/_mesh/v1/services/${service}/instances`, { url: `http://127.0.0.1:9/r/${i}`, ttlSeconds: 3600 }],
      expect: 201,
      onOk: (r) => ids.push(JSON.parse(r.body).id),
      isCap: (r) => r.status === 409 && r.body.includes("maximum number"),
    };
  });
  let k = 0;
  const { result: heartbeats } = await phase("heartbeats", () => {
    if (ids.length === 0) return null;
    const id = ids[k++ % ids.length];
    return { args: ["PUT", `/_mesh/v1/services/${service}/instances/${id}/heartbeat`], expect: 200 };
  });
  agent.destroy();
  await mesh.deleteService(service);
  return {
    concurrency,
    seconds,
    registrations: { ...registrations, hitCap, membersAtCap: hitCap ? ids.length : null },
    heartbeats: { ...heartbeats, distinctInstances: ids.length },
  };
}
