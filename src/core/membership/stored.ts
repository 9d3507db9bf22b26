import { initialHealth, type HealthState } from "../health/health-machine.js";
import type { GeoPoint } from "../policy/geo.js";
import type { Membership } from "../schema/instance.js";
import type { ServiceCredentials } from "../schema/credentials.js";
import { isTokenDigest, serviceConfigSchema, type ServiceConfig } from "../schema/service.js";
import type { Member } from "./member.js";

/**
 * Reading what the coordinator stored, checked rather than cast. A bad value
 * (a hand edit, a bug in an older build) must cost one member or the config,
 * never every RPC of the service, so each reader says what was wrong instead
 * of throwing.
 */

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const MEMBERSHIPS: readonly Membership[] = ["active", "draining", "expired"];

function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: "not JSON" };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isNumOrNull = (v: unknown): v is number | null => v === null || isNum(v);

export function parseHealth(text: string): Parsed<HealthState> {
  const json = parseJson(text);
  if (!json.ok) return { ok: false, reason: `health: ${json.reason}` };
  const h = json.value;
  if (
    !isObject(h) ||
    (h.status !== "healthy" && h.status !== "unhealthy") ||
    !isNum(h.consecutiveSuccesses) ||
    !isNum(h.consecutiveFailures) ||
    !isNumOrNull(h.lastCheckAt) ||
    (h.lastCheckResult !== null && typeof h.lastCheckResult !== "string") ||
    !isNum(h.passiveFailures) ||
    !isNumOrNull(h.ejectedUntil) ||
    !isNum(h.ejections) ||
    (h.healthySince !== undefined && !isNum(h.healthySince))
  ) {
    return { ok: false, reason: "health: not a health state" };
  }
  return {
    ok: true,
    value: {
      status: h.status,
      consecutiveSuccesses: h.consecutiveSuccesses,
      consecutiveFailures: h.consecutiveFailures,
      lastCheckAt: h.lastCheckAt,
      lastCheckResult: h.lastCheckResult,
      passiveFailures: h.passiveFailures,
      ejectedUntil: h.ejectedUntil,
      ejections: h.ejections,
      // Absent in rows written before slow start existed, and until a first recovery.
      ...(isNum(h.healthySince) ? { healthySince: h.healthySince } : {}),
    },
  };
}

export function parseMetadata(text: string | null): Parsed<Record<string, string> | null> {
  if (text === null) return { ok: true, value: null };
  const json = parseJson(text);
  if (!json.ok) return { ok: false, reason: `metadata: ${json.reason}` };
  const m = json.value;
  if (!isObject(m) || !Object.values(m).every((v) => typeof v === "string")) {
    return { ok: false, reason: "metadata: not an object of strings" };
  }
  return { ok: true, value: m as Record<string, string> };
}

/** `location` column: JSON `{latitude, longitude}` or NULL. */
export function parseLocation(text: string | null): Parsed<GeoPoint | null> {
  if (text === null) return { ok: true, value: null };
  const json = parseJson(text);
  if (!json.ok) return { ok: false, reason: `location: ${json.reason}` };
  const l = json.value;
  if (!isObject(l) || !isNum(l.latitude) || !isNum(l.longitude) || Math.abs(l.latitude) > 90 || Math.abs(l.longitude) > 180) {
    return { ok: false, reason: "location: not a latitude/longitude pair" };
  }
  return { ok: true, value: { latitude: l.latitude, longitude: l.longitude } };
}

/** The stored config is the resolved one, so it must pass the same schema the API applies. */
export function parseStoredConfig(text: string): Parsed<ServiceConfig> {
  const json = parseJson(text);
  if (!json.ok) return { ok: false, reason: `config: ${json.reason}` };
  const parsed = serviceConfigSchema.safeParse(json.value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: "config: does not match the service schema" };
}

/** `meta.credentials`: the service's token digests and creation time (schema/credentials.ts). */
export function parseStoredCredentials(text: string): Parsed<ServiceCredentials> {
  const json = parseJson(text);
  if (!json.ok) return { ok: false, reason: `credentials: ${json.reason}` };
  const c = json.value;
  if (!isObject(c) || !isTokenDigest(c.tokenHash) || !isNum(c.createdAt)) return { ok: false, reason: "credentials: no token hash or creation time" };
  const p = c.previousToken;
  if (p === undefined) return { ok: true, value: { tokenHash: c.tokenHash, createdAt: c.createdAt } };
  if (!isObject(p) || !isTokenDigest(p.hash) || !isNum(p.validUntil)) return { ok: false, reason: "credentials: previousToken is not a digest and a time" };
  return { ok: true, value: { tokenHash: c.tokenHash, previousToken: { hash: p.hash, validUntil: p.validUntil }, createdAt: c.createdAt } };
}

/** One `instances` row as SQLite returns it (column name → value). */
export type StoredRow = Record<string, unknown>;

/**
 * A decoded row. When it is bad, `repaired` is the member with every bad JSON
 * column reset (health to a fresh start, metadata to none), or null when the
 * identity columns themselves are unusable and the row can only be removed.
 */
export type DecodedRow = { ok: true; member: Member } | { ok: false; id: string; reason: string; repaired: Member | null };

export function decodeMemberRow(r: StoredRow): DecodedRow {
  const id = typeof r.id === "string" ? r.id : String(r.id);
  const membership = MEMBERSHIPS.find((m) => m === r.membership);
  const numbers = [r.weight, r.registered_at, r.lease_expires_at, r.membership_since, r.requests, r.failures, r.latency_ms_total];
  if (
    typeof r.url !== "string" ||
    membership === undefined ||
    !numbers.every(isNum) ||
    !isNumOrNull(r.ttl_seconds) ||
    (r.zone !== null && typeof r.zone !== "string") ||
    // Rows written before migration 3 read the column's default, 0.
    !(r.priority === undefined || isNum(r.priority))
  ) {
    return { ok: false, id, reason: "row: identity or counter columns unusable", repaired: null };
  }
  const health = parseHealth(typeof r.health === "string" ? r.health : "");
  const metadata = parseMetadata(typeof r.metadata === "string" ? r.metadata : null);
  const location = parseLocation(typeof r.location === "string" ? r.location : null);
  const member: Member = {
    id,
    url: r.url,
    weight: Number(r.weight),
    zone: r.zone,
    priority: r.priority === undefined ? 0 : Number(r.priority),
    location: location.ok ? location.value : null,
    metadata: metadata.ok ? metadata.value : null,
    ttlSeconds: r.ttl_seconds,
    registeredAt: Number(r.registered_at),
    leaseExpiresAt: Number(r.lease_expires_at),
    membership,
    membershipSince: Number(r.membership_since),
    health: health.ok ? health.value : initialHealth(),
    requests: Number(r.requests),
    failures: Number(r.failures),
    latencyMsTotal: Number(r.latency_ms_total),
  };
  const reasons = [health, metadata, location].flatMap((p) => (p.ok ? [] : [p.reason]));
  return reasons.length === 0 ? { ok: true, member } : { ok: false, id, reason: reasons.join("; "), repaired: member };
}
