// Issue 13 §3: coordinator load as the number of router isolates grows.
// N router Workers, each its own isolate in one workerd, route to one service
// whose coordinator lives in a separate "core" Worker: their SERVICES and
// ROUTES bindings name the core Worker's classes, they share its KV namespace,
// and Miniflare gives every Worker of one instance the same Cache API, as one
// Cloudflare location does. For each N, the same steady GET load is spread
// over the N routers with SNAPSHOT_SHARING off and then on, and the
// coordinator's own counters give its snapshot and report RPCs per second.
// Then, sharing on at the largest N, one of three origins is killed: the time
// until no router needs a retry any more (every router stopped picking it) is
// compared with sharing off, to show failover timing is unchanged.
import http from "node:http";
import { startFleet } from "../lib/fleet.mjs";
import { meshClient } from "../lib/mesh-client.mjs";
import { startOriginHost } from "../lib/origin-host.mjs";
import { round } from "../lib/stats.mjs";

const SERVICE = "fleet";

/**
 * @param {{ quick: boolean, log: (s: string) => void, bundles: { mesh: string }, adminToken: string }} ctx
 */
export async function nRouters({ quick, log, bundles, adminToken }) {
  const counts = quick ? [1, 4] : [1, 2, 4, 8, 12];
  const seconds = quick ? 4 : 8;
  const perRouterRps = 25;
  const host = await startOriginHost();
  const origins = [];
  for (let i = 0; i < 3; i++) origins.push(await host.create(`fleet-${i}`, { catchAll: true }));
  const rows = [];
  /** @type {Record<string, { lastRetryAfterKillMs: number | null, clientErrors: number }>} */
  const failover = {};
  try {
    for (const n of counts) {
      for (const sharing of ["off", "cache"]) {
        const run = await startRouters({ bundleDir: bundles.mesh, routers: n, sharing, adminToken });
        try {
          await seed(run.url, adminToken, origins);
          // Warm: every router past its cold loads (each cold request asks the coordinator itself).
          await load(run.url, n, perRouterRps, 2000);
          const before = await counters(run.mf);
          const stats = await load(run.url, n, perRouterRps, seconds * 1000);
          const after = await counters(run.mf);
          const row = {
            routers: n,
            sharing,
            requestsPerSecond: round(stats.ok / seconds, 1),
            clientErrors: stats.errors,
            snapshotRpcsPerSecond: round((after.snapshots - before.snapshots) / seconds, 2),
            reportRpcsPerSecond: round((after.reports - before.reports) / seconds, 2),
          };
          rows.push(row);
          log(`  ${n} router(s), sharing ${sharing}: coordinator ${row.snapshotRpcsPerSecond} snapshot RPCs/s, ${row.reportRpcsPerSecond} report RPCs/s (${row.requestsPerSecond} req/s, ${row.clientErrors} errors)`);
          if (n === counts.at(-1)) {
            failover[sharing] = await killOne(run.url, n, perRouterRps, host, origins[2]);
            await host.start(origins[2].name);
            log(`  ${n} routers, sharing ${sharing}: after killing 1 of 3 origins, last request needing a retry ${failover[sharing].lastRetryAfterKillMs} ms after the kill, ${failover[sharing].clientErrors} client errors ${JSON.stringify(failover[sharing].errorStatuses)}`);
          }
        } finally {
          await run.mf.dispose();
        }
      }
    }
  } finally {
    await host.close();
  }
  return { perRouterRps, seconds, rows, failover, note: "one workerd, one Miniflare cache: the N routers stand for N isolates of one location" };
}

/** The core Worker (coordinator, registry, API) on the HTTP port, and N routers reached by Host header. */
function startRouters({ bundleDir, routers, sharing, adminToken }) {
  const bindings = { MESH_ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", CONTROL_PLANE_RATE_LIMITS: "off", SNAPSHOT_SHARING: sharing };
  return startFleet({ bundleDir, routers, bindings });
}

async function seed(url, adminToken, origins) {
  const client = meshClient(url, adminToken);
  const token = await client.putService(SERVICE, {
    routes: { pathPrefixes: [`/${SERVICE}`] },
    // Probe timeouts generous enough for a loaded 2-core machine; the kill is found by failed tries first anyway.
    healthCheck: { intervalSeconds: 2, timeoutMs: 1500, unhealthyThreshold: 2 },
  });
  for (const o of origins) await client.register(SERVICE, token, `${o.url}/${o.name}`, { ttlSeconds: 3600 });
  // The registry's group commit reaches KV within a second; routers other than core read it from there.
  await new Promise((r) => setTimeout(r, 1500));
}

/** The coordinator's router-RPC counters, read over RPC from Node. */
async function counters(mf) {
  const ns = await mf.getDurableObjectNamespace("SERVICES", "core");
  const view = await ns.get(ns.idFromName(SERVICE)).describe();
  return view.routerRpcs;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function get(url, router) {
  const u = new URL(`/${SERVICE}/item`, url);
  return new Promise((resolve) => {
    const req = http.get({ host: u.hostname, port: u.port, path: u.pathname, agent, headers: { host: `r${router}.fleet.test` } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, attempts: Number(res.headers["x-mesh-attempts"] ?? "1") }));
    });
    req.on("error", () => resolve({ status: 0, attempts: 0 }));
  });
}

/** Open-loop GETs, `rps` per router, for `ms`; `onResult` sees each answer with its send time. */
async function load(url, routers, rps, ms, onResult = () => {}) {
  const started = Date.now();
  const inflight = [];
  let ok = 0;
  let errors = 0;
  /** @type {Record<string, number>} */
  const statuses = {};
  for (let tick = 0; Date.now() - started < ms; tick++) {
    const due = started + (tick * 1000) / rps;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let r = 0; r < routers; r++) {
      const sentAt = Date.now();
      inflight.push(
        get(url, r).then((res) => {
          if (res.status === 200) ok++;
          else {
            errors++;
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          }
          onResult(res, sentAt);
        }),
      );
    }
  }
  await Promise.all(inflight);
  return { ok, errors, statuses };
}

async function killOne(url, routers, rps, host, victim) {
  // Warm every router first, so each holds a snapshot with all three origins.
  await load(url, routers, rps, 2000);
  let killedAt = 0;
  /** @type {number | null} */
  let lastRetry = null;
  const running = load(url, routers, rps, 8000, (res, sentAt) => {
    if (killedAt > 0 && sentAt >= killedAt && res.attempts > 1) lastRetry = Math.max(lastRetry ?? 0, sentAt - killedAt);
  });
  await new Promise((r) => setTimeout(r, 1000));
  killedAt = await host.stop(victim.name);
  const stats = await running;
  return { lastRetryAfterKillMs: lastRetry, clientErrors: stats.errors, errorStatuses: stats.statuses };
}
