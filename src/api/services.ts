import { Hono } from "hono";
import { ADMIN_WRITE_WAIT_MS } from "../core/admin/admin-queue.js";
import { MeshError } from "../core/errors.js";
import * as z from "../core/schema/zod.js";
import { serviceConfigSchema, type ServiceRecord } from "../core/schema/service.js";
import { noteRouteChange } from "../edge/cache/route-cache.js";
import { getService, listServiceNames, readServices, RecordUnreadable } from "../registry/kv-registry.js";
import { routedService } from "../registry/route-index.js";
import type { AdminRefusal, DeleteOutcome, PutOutcome, RotateOutcome } from "../coordinator/service-coordinator.js";
import { sha256Hex } from "../core/sha256.js";
import { checkSecurityConfig } from "../security/wiring/config-check.js";
import { adminOnly, newRegistrationToken } from "./auth.js";
import { viaCoordinator } from "./coordinator-call.js";
import { nameParam, parseOptionalJson, validate } from "./validate.js";

type AppEnv = { Bindings: Env };

const WAIT_SECONDS = ADMIN_WRITE_WAIT_MS / 1000;

/** The answer to an admin write the service's coordinator refused or could not finish (coordinator/admin-writes.ts). */
function adminRefused(name: string, r: AdminRefusal): MeshError {
  switch (r.error) {
    case "conflict":
      return new MeshError(409, "conflict", r.message);
    case "not_found":
      return new MeshError(404, "not_found", `service '${name}' does not exist`);
    case "record_unreadable":
      return new MeshError(500, "record_unreadable", r.message);
    case "routes_unavailable":
      return new MeshError(503, "registry_unavailable", "the route registry could not be reached; the service record was left as it was, retry shortly", {
        headers: { "retry-after": "1" },
      });
    case "record_unavailable":
      return new MeshError(503, "registry_unavailable", r.message, { headers: { "retry-after": "1" } });
    // The service's admin writes take turns, each answered within ADMIN_WRITE_WAIT_MS (core/admin/admin-queue.ts).
    case "write_not_started":
      return new MeshError(
        503,
        "registry_unavailable",
        `this write of service '${name}' waited ${WAIT_SECONDS} s behind earlier ones without starting; it was not made, retry shortly`,
        { headers: { "retry-after": "1" } },
      );
    case "write_overran":
      return new MeshError(
        503,
        "registry_unavailable",
        `the write of service '${name}' did not finish within ${WAIT_SECONDS} s and may still complete; GET /_mesh/v1/services/${name} shows the outcome`,
        { headers: { "retry-after": "1" } },
      );
  }
}

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
  const reads = await readServices(c.env.REGISTRY, names);
  // One damaged record must not hide every other service: it is named apart instead.
  const unreadable = reads.flatMap((r) => (r instanceof RecordUnreadable ? [r.service] : [])).sort();
  const listed = reads.filter((r): r is ServiceRecord => r !== null && !(r instanceof RecordUnreadable)).map(publicService);
  return c.json(unreadable.length === 0 ? { services: listed } : { services: listed, unreadable });
});

services.put("/:name", validate("param", nameParam), validate("json", serviceConfigSchema), async (c) => {
  const { name } = c.req.valid("param");
  const config = c.req.valid("json");
  const now = Date.now();
  // A fallback hop is never followed by another (edge/route/fallback.ts), so a service naming itself could only 503 twice.
  if (config.fallbackService === name) {
    const message = "must name another service: a service cannot be its own fallback";
    throw new MeshError(400, "invalid_request", `invalid request body: fallbackService: ${message}`, { issues: [{ path: "fallbackService", message }] });
  }

  // Token and JWKS URLs pass the instance-URL guard; secrets or bindings the Worker lacks are warnings (docs/security.md).
  const security = checkSecurityConfig(config, (ref) => (c.env as unknown as Record<string, unknown>)[ref], c.env.ALLOW_PRIVATE_ORIGINS === "true");
  const firstIssue = security.issues[0];
  if (firstIssue !== undefined) {
    throw new MeshError(400, "origin_not_allowed", `${firstIssue.path}: ${firstIssue.message}`, { issues: security.issues });
  }
  if (security.warnings.length > 0) console.warn(JSON.stringify({ event: "service_config_warnings", service: name, warnings: security.warnings }));
  const warnings = security.warnings.length > 0 ? { warnings: security.warnings } : {};

  // The claim, the record and the coordinator's config are written by the service's coordinator, one
  // admin write of the service at a time (coordinator/admin-writes.ts). The token is used only if
  // this PUT creates the service; its hash is all that leaves this isolate.
  const token = newRegistrationToken();
  const tokenHash = await sha256Hex(token);
  const result = await viaCoordinator<PutOutcome>(c.env, name, (s) => s.putService(name, config, now, tokenHash));
  if (!result.ok) throw adminRefused(name, result);
  noteRouteChange(name, routedService(name, config), result.shard, result.shardVersion, now);
  const service = publicService(result.record);
  if (result.created) return c.json({ service, registrationToken: token, ...warnings }, 201);
  return c.json({ service, ...warnings }, 200);
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
  // In turn with the service's other admin writes, in its coordinator (coordinator/admin-writes.ts).
  // One id for both tries of the call: a retried delivery gets the first one's answer, not a 404.
  const callId = crypto.randomUUID();
  const result = await viaCoordinator<DeleteOutcome>(c.env, name, (s) => s.deleteService(name, Date.now(), callId));
  if (!result.ok) throw adminRefused(name, result);
  noteRouteChange(name, null, result.shard, result.shardVersion, Date.now());
  return c.json({ deleted: name });
});

/**
 * How long the replaced token keeps working by default: long enough for a
 * fleet to pick up the new one in a normal deploy, and well past the 60 s a
 * KV write can take to reach every location (until then, other locations
 * still know only the old token, so a grace of 0 can briefly refuse both
 * there). At most 7 days.
 */
export const DEFAULT_GRACE_SECONDS = 86_400;
export const MAX_GRACE_SECONDS = 7 * 86_400;

const rotateBodySchema = z.strictObject({
  graceSeconds: z.optional(z.number().check(z.int(), z.gte(0), z.lte(MAX_GRACE_SECONDS))),
});

// The literal ':rotate' (Google API style). Hono reads a ':' anywhere in a pattern as the start of a
// parameter, so "/:name/registration-token:rotate" would match "registration-token" followed by
// anything; a parameter whose pattern is the whole literal segment matches exactly that segment.
services.post("/:name/:action{registration-token:rotate}", adminOnly, validate("param", nameParam), async (c) => {
  const { name } = c.req.valid("param");
  const body = parseOptionalJson(rotateBodySchema, c.req.header("content-type"), await c.req.text());
  const token = newRegistrationToken();
  const validUntil = Date.now() + (body.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  // A read-modify-write of the record, so in turn with the service's other admin writes: a PUT
  // under way must not write the old token back (coordinator/admin-writes.ts).
  const tokenHash = await sha256Hex(token);
  const result = await viaCoordinator<RotateOutcome>(c.env, name, (s) => s.rotateToken(name, tokenHash, validUntil));
  if (!result.ok) throw adminRefused(name, result);
  return c.json({ registrationToken: token, previousTokenValidUntil: new Date(validUntil).toISOString() });
});
