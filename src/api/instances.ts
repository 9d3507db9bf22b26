import { Hono } from "hono";
import { z } from "zod";
import { MeshError } from "../core/errors.js";
import { canonicalOrigin, checkOrigin } from "../core/net/origin-guard.js";
import { instanceIdSchema, registerInstanceSchema } from "../core/schema/instance.js";
import { serviceNameSchema, type ServiceRecord } from "../core/schema/service.js";
import { coordinator } from "../coordinator/stub.js";
import { invalidateSnapshot } from "../edge/snapshot-cache.js";
import { getService } from "../registry/kv-registry.js";
import { bearerToken, requireServiceToken } from "./auth.js";
import { invalid, validate } from "./validate.js";

type AppEnv = { Bindings: Env };

const nameParam = z.object({ name: serviceNameSchema });
const instanceParams = z.object({ name: serviceNameSchema, id: instanceIdSchema });

async function authorizedService(env: Env, name: string, authorization: string | undefined): Promise<ServiceRecord> {
  const record = await getService(env.REGISTRY, name);
  if (record === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  await requireServiceToken(bearerToken(authorization), env.MESH_ADMIN_TOKEN, record.tokenHash);
  return record;
}

export const instances = new Hono<AppEnv>();

instances.post("/:name/instances", validate("param", nameParam), validate("json", registerInstanceSchema), async (c) => {
  const { name } = c.req.valid("param");
  const body = c.req.valid("json");
  const record = await authorizedService(c.env, name, c.req.header("authorization"));
  const check = checkOrigin(body.url, c.env.ALLOW_PRIVATE_ORIGINS === "true");
  if (!check.ok) {
    throw new MeshError(400, "origin_not_allowed", `url: ${check.reason}`, { issues: [{ path: "url", message: check.reason }] });
  }
  const result = await coordinator(c.env, name).register(name, record.config, {
    url: canonicalOrigin(check.url),
    weight: body.weight,
    zone: body.zone ?? null,
    metadata: body.metadata ?? null,
    ttlSeconds: body.ttlSeconds ?? null,
  });
  if (!result.ok) throw new MeshError(409, "conflict", `service '${name}' already has the maximum number of instances`);
  invalidateSnapshot(name);
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

instances.put("/:name/instances/:id/heartbeat", validate("param", instanceParams), async (c) => {
  const { name, id } = c.req.valid("param");
  await authorizedService(c.env, name, c.req.header("authorization"));
  const lease = await coordinator(c.env, name).heartbeat(id);
  if (lease === null) {
    throw new MeshError(404, "not_found", `instance '${id}' is not registered (or its lease expired); register again`);
  }
  return c.json({ leaseExpiresAt: new Date(lease.leaseExpiresAt).toISOString() });
});

instances.delete("/:name/instances/:id", validate("param", instanceParams), async (c) => {
  const { name, id } = c.req.valid("param");
  await authorizedService(c.env, name, c.req.header("authorization"));
  const found = await coordinator(c.env, name).deregister(id);
  if (!found) throw new MeshError(404, "not_found", `instance '${id}' is not registered`);
  invalidateSnapshot(name);
  return c.json({ id, state: "draining" });
});

