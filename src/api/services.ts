import { Hono } from "hono";
import { MeshError } from "../core/errors.js";
import * as z from "../core/schema/zod.js";
import { credentialsOf, serviceConfigSchema, type ServiceCredentials, type ServiceRecord } from "../core/schema/service.js";
import { noteRouteChange } from "../edge/cache/route-cache.js";
import { deleteService, getService, listServiceNames, putService, readService, readServices, RecordUnreadable } from "../registry/kv-registry.js";
import { routedService } from "../registry/route-index.js";
import { claimRoutes, releaseRoutes } from "./route-claims.js";
import { sha256Hex } from "../core/sha256.js";
import { checkSecurityConfig } from "../security/wiring/config-check.js";
import { adminOnly, newRegistrationToken } from "./auth.js";
import { viaCoordinator } from "./coordinator-call.js";
import type { ServiceCoordinator } from "../coordinator/service-coordinator.js";
import { nameParam, parseOptionalJson, validate } from "./validate.js";

type AppEnv = { Bindings: Env };


function publicService(r: ServiceRecord) {
  return {
    name: r.name,
    config: r.config,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

/** Why a PUT that found no record answers 200 without a token (docs/api.md, "PUT"). */
const EXISTED_MESSAGE =
  "the service already existed (created by another PUT that KV had not shown here yet): this PUT updated its config, and its registration token is the one that PUT was given; rotate it if that one is lost";

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
  const kv = c.env.REGISTRY;
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

  // Claims the routes first, so two services can never both own one (the registry is the one writer).
  // The record read does not depend on the claim, so both go out at once: one round trip less per PUT.
  const routed = routedService(name, config);
  const [claimed, read] = await Promise.allSettled([claimRoutes(c.env, name, routed), readService(kv, name)]);
  if (claimed.status === "rejected") throw claimed.reason;
  const claim = claimed.value;
  if (read.status === "rejected") {
    await releaseRoutes(c.env, name, claim.previous);
    throw read.reason;
  }
  // A damaged record is what this PUT replaces (its error message says so): the service is written afresh, with a new token.
  if (read.value instanceof RecordUnreadable) console.warn(JSON.stringify({ event: "service_record_replaced", service: name, message: read.value.message }));
  const replacing = read.value instanceof RecordUnreadable;
  const existing = read.value instanceof RecordUnreadable ? null : read.value;
  // A create mints a token, but the coordinator decides whether this is one: it orders every PUT
  // and rotation of the service and answers with the credentials in force, which the record carries.
  const token = existing === null ? newRegistrationToken() : null;
  const offered: ServiceCredentials = existing === null ? { tokenHash: await sha256Hex(token ?? ""), createdAt: now } : credentialsOf(existing);
  let configured: { accepted: boolean; credentials: ServiceCredentials | null };
  let record: ServiceRecord | null = null;
  // The coordinator first: if it fails, nothing was written and the client can simply retry
  // (writing KV first could strand a registration token that was never shown).
  try {
    configured = await viaCoordinator(c.env, name, (s) => s.configure(name, config, now, existing?.updatedAt, offered, replacing));
    if (configured.accepted) {
      record = { name, config, ...(configured.credentials ?? offered), updatedAt: now };
      await putService(kv, record);
    }
  } catch (err) {
    await releaseRoutes(c.env, name, claim.previous);
    throw err;
  }
  if (!configured.accepted) {
    // A DELETE reached the coordinator after this PUT read the record: the service is gone, and so
    // are its routes (this claim may have landed after the DELETE's release, so it is dropped, not put back).
    await releaseRoutes(c.env, name, null);
    throw new MeshError(409, "conflict", `service '${name}' was deleted while this PUT ran; PUT it again to create it`);
  }
  noteRouteChange(name, routed, claim.shard, claim.shardVersion, now);
  if (record === null) throw new Error("accepted PUT without a record");
  if (token !== null && record.tokenHash === offered.tokenHash) return c.json({ service: publicService(record), registrationToken: token, ...warnings }, 201);
  if (token !== null) {
    // Read as missing here, yet the coordinator holds the service: another PUT created it (at the same
    // moment, or recently elsewhere and KV has not shown it here yet). This PUT updated it; that PUT's token stands.
    console.warn(JSON.stringify({ event: "service_existed", service: name }));
    return c.json({ service: publicService(record), warnings: [...security.warnings, `registrationToken: ${EXISTED_MESSAGE}`] }, 200);
  }
  return c.json({ service: publicService(record), ...warnings }, 200);
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
  const read = await readService(kv, name);
  // A damaged record can still be deleted (its error message says so); the tombstone is then versioned now, later than any config it held.
  const record = read instanceof RecordUnreadable ? { updatedAt: Date.now() } : read;
  if (record === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  // The coordinator first: once it holds the tombstone, a stale register or sweep cannot bring the
  // service back, and it starts removing the instance mirror in batches from its alarm (a service can
  // have more mirror keys than one invocation may delete). If a KV write below then fails, the record
  // is still there and a retried DELETE finishes the job.
  await viaCoordinator(c.env, name, (s) => s.destroy(record.updatedAt, name));
  const removed = await claimRoutes(c.env, name, null);
  noteRouteChange(name, null, removed.shard, removed.shardVersion, Date.now());
  await deleteService(kv, name);
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
  const kv = c.env.REGISTRY;
  const record = await getService(kv, name);
  if (record === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  const token = newRegistrationToken();
  const hash = await sha256Hex(token);
  const validUntil = Date.now() + (body.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  // Only hashes are stored. The token rotated out before this one is dropped: at most two work at once.
  // The coordinator orders the rotation with every PUT (which writes the credentials it answers with),
  // and rotates from the token it holds: KV's copy here may be a stale read.
  const base = credentialsOf(record);
  const rotate = (s: DurableObjectStub<ServiceCoordinator>) => s.rotateToken(name, hash, validUntil, base);
  let rotation = await viaCoordinator(c.env, name, rotate);
  if (rotation === null) {
    // The coordinator lost its config (it is refilled by the next PUT or sweep): give it KV's, unless a DELETE came since.
    await viaCoordinator(c.env, name, (s) => s.configure(name, record.config, record.updatedAt, record.updatedAt, base));
    rotation = await viaCoordinator(c.env, name, rotate);
  }
  if (rotation === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  // updatedAt is the config's version (the coordinator orders configs by it), so a rotation leaves it.
  const rotated: ServiceRecord = { name, config: record.config, ...rotation.after, updatedAt: record.updatedAt };
  try {
    await putService(kv, rotated);
  } catch (err) {
    console.error(JSON.stringify({ event: "token_rotation_write_failed", service: name, message: String(err) }));
    const before = rotation.before;
    await viaCoordinator(c.env, name, (s) => s.unrotateToken(name, hash, before)).catch((undo: unknown) => {
      console.error(JSON.stringify({ event: "token_rotation_undo_failed", service: name, message: String(undo) }));
    });
    throw new MeshError(503, "registry_unavailable", "the service registry (KV) could not be written; the token was not rotated, retry shortly", {
      headers: { "retry-after": "1" },
    });
  }
  return c.json({ registrationToken: token, previousTokenValidUntil: new Date(validUntil).toISOString() });
});
