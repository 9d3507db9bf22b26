import { Hono } from "hono";
import { MeshError } from "../core/errors.js";
import { RouteTable } from "../core/routes/route-table.js";
import { serviceConfigSchema, type ServiceRecord } from "../core/schema/service.js";
import { invalidateRouteCache } from "../edge/cache/route-cache.js";
import { deleteService, getRouteIndex, getService, listServiceNames, putService, updateRouteIndex } from "../registry/kv-registry.js";
import { routedService } from "../registry/route-index.js";
import { sha256Hex } from "../core/sha256.js";
import { adminOnly, newRegistrationToken } from "./auth.js";
import { viaCoordinator } from "./coordinator-call.js";
import { nameParam, validate } from "./validate.js";

type AppEnv = { Bindings: Env };


function publicService(r: ServiceRecord) {
  return {
    name: r.name,
    config: r.config,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

export const services = new Hono<AppEnv>();

// Admin-only. Bound to exact paths so the instance routes below /:name/ keep their own auth.
services.use("/", adminOnly);
services.use("/:name", adminOnly);

services.get("/", async (c) => {
  const names = await listServiceNames(c.env.REGISTRY);
  const records = await Promise.all(names.map((n) => getService(c.env.REGISTRY, n)));
  return c.json({ services: records.filter((r): r is ServiceRecord => r !== null).map(publicService) });
});

services.put("/:name", validate("param", nameParam), validate("json", serviceConfigSchema), async (c) => {
  const { name } = c.req.valid("param");
  const config = c.req.valid("json");
  const kv = c.env.REGISTRY;
  const now = Date.now();

  // Refuse a route another service already owns, rather than silently shadowing it.
  const index = await getRouteIndex(kv);
  const others = (index?.services ?? []).filter((s) => s.name !== name);
  const table = new RouteTable([
    ...others.map((s) => ({ service: s.name, ...s.routes })),
    { service: name, ...config.routes },
  ]);
  const clash = table.conflicts[0];
  if (clash !== undefined) {
    const where = `${clash.host ?? "any host"} ${clash.prefix}`;
    throw new MeshError(409, "conflict", `route ${where} is already served by service '${clash.services[0]}'`);
  }

  const existing = await getService(kv, name);
  let token: string | null = null;
  let record: ServiceRecord;
  if (existing === null) {
    token = newRegistrationToken();
    record = { name, config, tokenHash: await sha256Hex(token), createdAt: now, updatedAt: now };
  } else {
    record = { ...existing, config, updatedAt: now };
  }
  // The coordinator first: if it fails, nothing was written and the client can simply retry
  // (writing KV first could strand a registration token that was never shown).
  await viaCoordinator(c.env, name, (s) => s.configure(name, config, record.updatedAt));
  await putService(kv, record);
  await updateRouteIndex(kv, name, routedService(name, config), now);
  invalidateRouteCache();
  if (token !== null) return c.json({ service: publicService(record), registrationToken: token }, 201);
  return c.json({ service: publicService(record) }, 200);
});

services.get("/:name", validate("param", nameParam), async (c) => {
  const { name } = c.req.valid("param");
  const record = await getService(c.env.REGISTRY, name);
  if (record === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  const view = await viaCoordinator(c.env, name, (s) => s.describe());
  return c.json({ service: publicService(record), snapshotVersion: view.snapshotVersion, instances: view.instances, strictPicks: view.strictPicks });
});

services.delete("/:name", validate("param", nameParam), async (c) => {
  const { name } = c.req.valid("param");
  const kv = c.env.REGISTRY;
  const record = await getService(kv, name);
  if (record === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  // The coordinator first: once it holds the tombstone, a stale register or sweep cannot bring the
  // service back, and it starts removing the instance mirror in batches from its alarm (a service can
  // have more mirror keys than one invocation may delete). If a KV write below then fails, the record
  // is still there and a retried DELETE finishes the job.
  await viaCoordinator(c.env, name, (s) => s.destroy(record.updatedAt, name));
  await updateRouteIndex(kv, name, null, Date.now());
  invalidateRouteCache();
  await deleteService(kv, name);
  return c.json({ deleted: name });
});

