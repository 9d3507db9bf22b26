import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { MeshError } from "../core/errors.js";
import { mapPool } from "../core/map-pool.js";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, type ServiceMetrics } from "../core/metrics/prometheus.js";
import { MAX_SCRAPE_SHARDS, scrapeShardOf } from "../core/metrics/scrape-shard.js";
import { STATS_WINDOWS } from "../core/metrics/stats.js";
import * as z from "../core/schema/zod.js";
import { coordinator } from "../coordinator/stub.js";
import { withTimeout } from "../edge/cache/with-timeout.js";
import { getService, listServiceNames } from "../registry/kv-registry.js";
import { bearerToken, isAdmin } from "./auth.js";
import { viaCoordinator } from "./coordinator-call.js";
import { nameParam, validate } from "./validate.js";

type AppEnv = { Bindings: Env };

/**
 * The scrape fans out to every service's coordinator: six calls at a time
 * (the Workers limit on simultaneous open connections per invocation), 2 s
 * each, the whole scrape inside 10 s (Prometheus' default scrape_timeout).
 * A service that fails or is not reached in time is skipped and shows as
 * switchyard_service_up 0; the scrape itself never fails for it. Beyond
 * MAX_SCRAPED_SERVICES (each call is a subrequest) services are skipped too:
 * past that, scrape with `?shard=i&shards=n`, n jobs each taking the services
 * whose name hashes to its shard (core/metrics/scrape-shard.ts).
 */
const SCRAPE_CONCURRENCY = 6;
const SCRAPE_CALL_TIMEOUT_MS = 2_000;
const SCRAPE_DEADLINE_MS = 10_000;
export const MAX_SCRAPED_SERVICES = 500;

/**
 * MESH_METRICS_TOKEN is an optional secret, so the generated Env does not
 * declare it (wrangler types reads only the secrets present in .dev.vars).
 */
function metricsToken(env: Env): string | undefined {
  const value: unknown = (env as unknown as Record<string, unknown>).MESH_METRICS_TOKEN;
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The admin token, or the read-only MESH_METRICS_TOKEN, which opens these two endpoints and nothing else. */
export const metricsReader = createMiddleware<AppEnv>(async (c, next) => {
  const reader = metricsToken(c.env);
  const admin = c.env.MESH_ADMIN_TOKEN;
  if (reader === undefined && (admin === undefined || admin === "")) {
    throw new MeshError(503, "not_configured", "neither MESH_ADMIN_TOKEN nor MESH_METRICS_TOKEN is set; run `wrangler secret put MESH_METRICS_TOKEN`");
  }
  const presented = bearerToken(c.req.header("authorization"));
  if (presented === null) throw new MeshError(401, "unauthorized", "missing Authorization: Bearer <token>");
  // isAdmin compares digests in constant time; given the metrics token it checks that one instead.
  if (!(await isAdmin(presented, reader)) && !(await isAdmin(presented, admin))) {
    throw new MeshError(401, "unauthorized", "invalid metrics or admin token");
  }
  await next();
});

const statsQuery = z.object({ window: z.optional(z.enum(STATS_WINDOWS)) });

const shardNumber = z.string().check(z.regex(/^\d{1,3}$/, "must be a whole number"));
/** `shard` and `shards` together, or neither (core/metrics/scrape-shard.ts). */
const metricsQuery = z.object({ shard: z.optional(shardNumber), shards: z.optional(shardNumber) }).check(
  z.refine((q) => (q.shard === undefined) === (q.shards === undefined), { message: "shard and shards go together", path: ["shards"] }),
  z.refine((q) => q.shards === undefined || (Number(q.shards) >= 1 && Number(q.shards) <= MAX_SCRAPE_SHARDS), {
    message: `must be from 1 to ${MAX_SCRAPE_SHARDS}`,
    path: ["shards"],
  }),
  z.refine((q) => q.shard === undefined || q.shards === undefined || Number(q.shard) < Number(q.shards), {
    message: "must be below shards (they count from 0)",
    path: ["shard"],
  }),
);

export const metrics = new Hono<AppEnv>();

metrics.get("/metrics", metricsReader, validate("query", metricsQuery), async (c) => {
  const query = c.req.valid("query");
  const listed = await listServiceNames(c.env.REGISTRY);
  const shards = query.shards === undefined ? 1 : Number(query.shards);
  const shard = query.shard === undefined ? 0 : Number(query.shard);
  const names = shards === 1 ? listed : listed.filter((name) => scrapeShardOf(name, shards) === shard);
  const scraped: ServiceMetrics[] = [];
  const failed: string[] = names.slice(MAX_SCRAPED_SERVICES);
  const deadline = Date.now() + SCRAPE_DEADLINE_MS;
  await mapPool(names.slice(0, MAX_SCRAPED_SERVICES), SCRAPE_CONCURRENCY, async (name) => {
    if (Date.now() >= deadline) {
      failed.push(name);
      return;
    }
    try {
      const m = await withTimeout(coordinator(c.env, name).metrics(), Math.min(SCRAPE_CALL_TIMEOUT_MS, deadline - Date.now()), "metrics");
      // Null: listed in KV but unknown to its coordinator (mid-create or mid-delete): nothing to show yet.
      if (m !== null) scraped.push(m);
    } catch (err) {
      console.error(JSON.stringify({ event: "metrics_scrape_failed", service: name, message: String(err) }));
      failed.push(name);
    }
  });
  scraped.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return c.body(renderPrometheus(scraped, failed.sort()), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
});

metrics.get("/services/:name/stats", metricsReader, validate("param", nameParam), validate("query", statsQuery), async (c) => {
  const { name } = c.req.valid("param");
  const window = c.req.valid("query").window ?? "5m";
  const record = await getService(c.env.REGISTRY, name);
  if (record === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  const stats = await viaCoordinator(c.env, name, (s) => s.stats(window));
  if (stats === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  return c.json(stats);
});
