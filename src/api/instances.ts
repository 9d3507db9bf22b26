import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "../core/schema/zod.js";
import { MeshError } from "../core/errors.js";
import { canonicalOrigin, checkOrigin } from "../core/net/origin-guard.js";
import { instanceIdSchema, registerInstanceSchema } from "../core/schema/instance.js";
import { serviceNameSchema, type ServiceRecord } from "../core/schema/service.js";
import { invalidateSnapshot } from "../edge/cache/snapshot-cache.js";
import { revokeLeases } from "../edge/pick/slot-lease.js";
import { getService } from "../registry/kv-registry.js";
import { bearerToken, isAdmin, requireServiceToken } from "./auth.js";
import type { RegisterResult } from "../coordinator/service-coordinator.js";
import { MAX_ACTIVE_INSTANCES, MAX_MEMBERS } from "../core/membership/admission.js";
import { viaCoordinator } from "./coordinator-call.js";
import { nameParam, validate } from "./validate.js";

type AppEnv = { Bindings: Env; Variables: { service: ServiceRecord } };

const instanceParams = z.object({ name: serviceNameSchema, id: instanceIdSchema });

/**
 * Authenticates before any body is parsed. An unknown service is a 404 only
 * for the admin; anyone else gets the same 401 as for a wrong token, so
 * service names cannot be enumerated without credentials.
 */
const serviceAuth = createMiddleware<AppEnv>(async (c, next) => {
  const name = c.req.param("name") ?? "";
  const presented = bearerToken(c.req.header("authorization"));
  const record = await getService(c.env.REGISTRY, name);
  if (record === null) {
    if (await isAdmin(presented, c.env.MESH_ADMIN_TOKEN)) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
    throw new MeshError(401, "unauthorized", "invalid registration token for this service");
  }
  await requireServiceToken(presented, c.env.MESH_ADMIN_TOKEN, record, Date.now());
  c.set("service", record);
  await next();
});

type Refusal = Extract<RegisterResult, { ok: false }>;

/**
 * A registration the coordinator refused; nothing was written. The body
 * schema bounds every field by the store it lands in (core/schema/instance.ts),
 * so a mirror write that fails after validation is KV's fault, not the
 * input's: 503, to retry.
 */
function registrationRefused(name: string, r: Refusal): MeshError {
  switch (r.error) {
    case "service_deleted":
      return new MeshError(404, "not_found", `service '${name}' does not exist`);
    case "too_many_instances":
      return new MeshError(409, "conflict", `service '${name}' already has the maximum number of active instances (${MAX_ACTIVE_INSTANCES})`);
    case "too_many_members": {
      const seconds = Math.ceil(r.retryAfterMs / 1000);
      return new MeshError(
        429,
        "too_many_members",
        `service '${name}' holds the maximum of ${MAX_MEMBERS} instances (active, draining and expired); retry after ${seconds} s, when a drained one is removed`,
        { headers: { "retry-after": String(seconds) } },
      );
    }
    case "mirror_unavailable":
      return new MeshError(503, "registry_unavailable", "the instance registry (KV) could not be written; nothing was registered, retry shortly", {
        headers: { "retry-after": "1" },
      });
  }
}

export const instances = new Hono<AppEnv>();

instances.post("/:name/instances", validate("param", nameParam), serviceAuth, validate("json", registerInstanceSchema), async (c) => {
  const { name } = c.req.valid("param");
  const body = c.req.valid("json");
  const record = c.get("service");
  const check = checkOrigin(body.url, c.env.ALLOW_PRIVATE_ORIGINS === "true");
  if (!check.ok) {
    throw new MeshError(400, "origin_not_allowed", `url: ${check.reason}`, { issues: [{ path: "url", message: check.reason }] });
  }
  const req = {
    url: canonicalOrigin(check.url),
    weight: body.weight,
    zone: body.zone ?? null,
    priority: body.priority ?? 0,
    location: body.location ?? null,
    metadata: body.metadata ?? null,
    ttlSeconds: body.ttlSeconds ?? null,
  };
  const result = await viaCoordinator<RegisterResult>(c.env, name, (s) => s.register(name, record.config, record.updatedAt, req));
  if (!result.ok) throw registrationRefused(name, result);
  await invalidateSnapshot(name);
  const base = new URL(c.req.url).origin;
  return c.json(
    {
      id: result.id,
      leaseExpiresAt: new Date(result.leaseExpiresAt).toISOString(),
      heartbeatUrl: `${base}/_mesh/v1/services/${name}/instances/${result.id}/heartbeat`,
    },
    result.created ? 201 : 200,
  );
});

instances.put("/:name/instances/:id/heartbeat", validate("param", instanceParams), serviceAuth, async (c) => {
  const { name, id } = c.req.valid("param");
  const lease = await viaCoordinator(c.env, name, (s) => s.heartbeat(id));
  if (lease === null) {
    throw new MeshError(404, "not_found", `instance '${id}' has no lease to renew (never registered, deregistered and draining, or its lease expired); register again`);
  }
  return c.json({ leaseExpiresAt: new Date(lease.leaseExpiresAt).toISOString() });
});

instances.delete("/:name/instances/:id", validate("param", instanceParams), serviceAuth, async (c) => {
  const { name, id } = c.req.valid("param");
  const found = await viaCoordinator(c.env, name, (s) => s.deregister(id));
  if (!found) throw new MeshError(404, "not_found", `instance '${id}' is not registered`);
  // This isolate's leased strict slots may name the instance: void them now, not at the next refresh.
  revokeLeases(name);
  await invalidateSnapshot(name);
  return c.json({ id, state: "draining" });
});
