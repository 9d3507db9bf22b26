import { Hono } from "hono";
import { MeshError } from "../core/errors.js";
import * as z from "../core/schema/zod.js";
import type { ServiceRecord } from "../core/schema/service.js";
import { sha256Hex } from "../core/sha256.js";
import { getService, putService } from "../registry/kv-registry.js";
import { adminOnly, newRegistrationToken } from "./auth.js";
import { nameParam, parseOptionalJson, validate } from "./validate.js";

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

export const tokens = new Hono<{ Bindings: Env }>();

// The literal ':rotate' (Google API style). Hono reads a ':' anywhere in a pattern as the start of a
// parameter, so "/:name/registration-token:rotate" would match "registration-token" followed by
// anything; a parameter whose pattern is the whole literal segment matches exactly that segment.
tokens.post("/:name/:action{registration-token:rotate}", adminOnly, validate("param", nameParam), async (c) => {
  const { name } = c.req.valid("param");
  const body = parseOptionalJson(rotateBodySchema, c.req.header("content-type"), await c.req.text());
  const kv = c.env.REGISTRY;
  const record = await getService(kv, name);
  if (record === null) throw new MeshError(404, "not_found", `service '${name}' does not exist`);
  const token = newRegistrationToken();
  const validUntil = Date.now() + (body.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  // Only hashes are stored. The token rotated out before this one is dropped: at most two work at once.
  // updatedAt is the config's version (the coordinator orders configs by it), so a rotation leaves it.
  const rotated: ServiceRecord = { ...record, tokenHash: await sha256Hex(token), previousToken: { hash: record.tokenHash, validUntil } };
  try {
    await putService(kv, rotated);
  } catch (err) {
    console.error(JSON.stringify({ event: "token_rotation_write_failed", service: name, message: String(err) }));
    throw new MeshError(503, "registry_unavailable", "the service registry (KV) could not be written; the token was not rotated, retry shortly", {
      headers: { "retry-after": "1" },
    });
  }
  return c.json({ registrationToken: token, previousTokenValidUntil: new Date(validUntil).toISOString() });
});
