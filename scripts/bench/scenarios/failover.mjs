// Scenario 2: failover under load. Three instrumented origins behind the mesh
// at a steady open-loop rate; one is killed (port closed) at faultAt and
// brought back at restoreAt; then, separately, one hangs (accepts, never
// answers) over the same window. Measured where it happens:
//  - client errors (non-200 or socket errors) over the whole run;
//  - the last request the faulty origin received (hang: the origin's own
//    arrival log) or the mesh tried on it (kill: a closed port logs nothing,
//    so a client answer with x-mesh-attempts > 1 marks a request whose first
//    try went to the dead origin; its answer time bounds that try from above);
//  - the first request the origin received after it came back;
//  - p50/p99/max latency of requests sent during the fault;
//  - when the coordinator (GET /_mesh/v1/services/{name}) showed the origin
//    unhealthy and healthy again.
import { openLoop } from "../lib/open-loop.mjs";
import { startOriginHost } from "../lib/origin-host.mjs";
import { analyzeFailover } from "../analysis/failover.mjs";
import { sleep } from "../lib/stats.mjs";

export const FAILOVER_HEALTH = { intervalSeconds: 1, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 };
export const FAILOVER_RETRY = { attempts: 3, perTryTimeoutMs: 1000 };

/**
 * @param {{ mesh: ReturnType<typeof import("../lib/mesh-client.mjs").meshClient>, quick: boolean, log: (s: string) => void }} ctx
 */
export async function failover({ mesh, quick, log }) {
  const timing = quick ? { faultAt: 3000, restoreAt: 9000, rate: 300 } : { faultAt: 5000, restoreAt: 15000, rate: 500 };
  const restoreTargetMs = FAILOVER_HEALTH.intervalSeconds * FAILOVER_HEALTH.healthyThreshold * 1000 + 1000;
  const durationMs = timing.restoreAt + restoreTargetMs + (quick ? 3000 : 5000);
  const host = await startOriginHost();
  try {
    const origins = [];
    for (let i = 1; i <= 3; i++) origins.push(await host.create(`origin-${i}`));
    const runs = [];
    for (const fault of /** @type {const} */ (["kill", "hang"])) {
      log(`failover (${fault}): ${timing.rate} req/s open loop for ${durationMs / 1000} s; origin-2 ${fault === "kill" ? "killed" : "hung"} at t=${timing.faultAt / 1000} s, restored at t=${timing.restoreAt / 1000} s`);
      runs.push(await oneRun({ mesh, host, origins, fault, durationMs, restoreTargetMs, ...timing }));
      const r = runs.at(-1);
      log(
        `  errors ${r.clientErrors}; last request to the faulty origin +${fmt(r.lastToFaultyMs)} ms after the fault; ` +
          `first traffic +${fmt(r.restoreToTrafficMs)} ms after restore (target ≤ ${restoreTargetMs}); p99 during fault ${fmt(r.duringFault.p99)} ms`,
      );
    }
    return { rate: timing.rate, faultAtMs: timing.faultAt, restoreAtMs: timing.restoreAt, durationMs, health: FAILOVER_HEALTH, retry: FAILOVER_RETRY, restoreTargetMs, runs };
  } finally {
    await host.close();
  }
}

const fmt = (v) => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(0));

async function oneRun({ mesh, host, origins, fault, durationMs, faultAt, restoreAt, rate, restoreTargetMs }) {
  const service = `failover-${fault}`;
  const prefix = `/fo-${fault}`;
  const victim = origins[1];
  const token = await mesh.putService(service, {
    routes: { pathPrefixes: [prefix] },
    routing: { mode: "snapshot" },
    healthCheck: FAILOVER_HEALTH,
    retry: FAILOVER_RETRY,
  });
  const ids = new Map();
  for (const o of origins) ids.set(o.name, (await mesh.register(service, token, o.url, { ttlSeconds: 3600 })).id);
  // Let the router load the snapshot and every origin answer at least once.
  for (let i = 0; i < 12; i++) await (await fetch(`${mesh.base}${prefix}/warm`)).arrayBuffer();
  await sleep(500);

  // The coordinator's view of the victim, polled in the background.
  /** @type {{ t: number, state: string }[]} */
  const states = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const view = await mesh.describe(service);
        const inst = view.instances.find((x) => x.id === ids.get(victim.name));
        const state = inst?.state ?? "missing";
        if (states.at(-1)?.state !== state) states.push({ t: Date.now(), state });
      } catch {
        // the mesh is busy; try again
      }
      await sleep(200);
    }
  })();

  let faultTime = 0;
  let restoreTime = 0;
  const { t0, records, maxClientQueue } = await openLoop({
    url: `${mesh.base}${prefix}/item`,
    rate,
    durationMs,
    // Enough sockets for every request that can be stuck behind a hung origin at once
    // (a third of a per-try timeout's worth of traffic) several times over.
    maxSockets: rate + 200,
    at: [
      { ms: faultAt, run: async () => (faultTime = fault === "kill" ? await host.stop(victim.name) : await host.hang(victim.name)) },
      { ms: restoreAt, run: async () => (restoreTime = fault === "kill" ? await host.start(victim.name) : await host.unhang(victim.name)) },
    ],
  });
  polling = false;
  await poller;
  const victimLog = await host.log(victim.name, t0);
  await mesh.deleteService(service);

  return {
    fault,
    victim: victim.name,
    maxClientQueue,
    restoreTargetMs,
    ...analyzeFailover({ fault, records, t0, faultTime, restoreTime, durationMs, victimArrivals: victimLog.arrivals, states }),
  };
}
