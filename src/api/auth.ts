import { createMiddleware } from "hono/factory";
import { MeshError } from "../core/errors.js";
import type { ServiceRecord } from "../core/schema/service.js";
import { sha256Hex } from "../core/sha256.js";

/**
 * Bearer-token checks. Tokens are compared by their SHA-256 digests in
 * constant time, so neither the length nor a prefix of a secret leaks through
 * timing, and only the digest of a registration token is ever stored.
 */

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function bearerToken(header: string | undefined | null): string | null {
  if (header === undefined || header === null) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1] ?? null;
}

/** Compares an already-hashed presented token with the admin token, so a caller checking two tokens hashes it once. */
async function digestIsAdmin(presentedDigest: string, adminToken: string | undefined): Promise<boolean> {
  if (adminToken === undefined || adminToken === "") return false;
  return constantTimeEqual(presentedDigest, await sha256Hex(adminToken));
}

export async function isAdmin(presented: string | null, adminToken: string | undefined): Promise<boolean> {
  if (presented === null) return false;
  return digestIsAdmin(await sha256Hex(presented), adminToken);
}

export async function requireAdmin(presented: string | null, adminToken: string | undefined): Promise<void> {
  if (adminToken === undefined || adminToken === "") {
    throw new MeshError(503, "not_configured", "MESH_ADMIN_TOKEN is not set; run `wrangler secret put MESH_ADMIN_TOKEN`");
  }
  if (presented === null) throw new MeshError(401, "unauthorized", "missing Authorization: Bearer <token>");
  if (!(await isAdmin(presented, adminToken))) throw new MeshError(401, "unauthorized", "invalid admin token");
}

/** Hono middleware: the admin token, checked before anything else (body included) is looked at. */
export const adminOnly = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  await requireAdmin(bearerToken(c.req.header("authorization")), c.env.MESH_ADMIN_TOKEN);
  await next();
});

/**
 * Admin, or the service's registration token: the current one, or the one
 * the last rotation replaced while its grace period runs.
 */
export async function requireServiceToken(
  presented: string | null,
  adminToken: string | undefined,
  record: Pick<ServiceRecord, "tokenHash" | "previousToken">,
  now: number,
): Promise<void> {
  if (presented === null) throw new MeshError(401, "unauthorized", "missing Authorization: Bearer <token>");
  const digest = await sha256Hex(presented);
  if (constantTimeEqual(digest, record.tokenHash)) return;
  const previous = record.previousToken;
  if (previous !== undefined && now < previous.validUntil && constantTimeEqual(digest, previous.hash)) return;
  if (await digestIsAdmin(digest, adminToken)) return;
  throw new MeshError(401, "unauthorized", "invalid registration token for this service");
}

/** 32 random bytes, URL-safe; shown once, at service creation or rotation. */
export function newRegistrationToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `sy_${btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}
