import { ADMIN_WRITE_WAIT_MS, WRITE_OVERRAN, type QueueClock, type QueueEvent, type QueueRefusal, type Turn } from "../core/admin/admin-queue.js";
import { credentialsForPut, credentialsForRotation, credentialsOf } from "../core/schema/credentials.js";
import type { ServiceConfig, ServiceRecord } from "../core/schema/service.js";
import { deleteService, putService, readService, RecordUnreadable } from "../registry/kv-registry.js";
import { routedService } from "../registry/route-index.js";
import { claimRoutes, releaseRoutes } from "./outbound/route-claims.js";
import type { CoordinatorState } from "./state.js";

/*
 * A service's admin writes: PUT, DELETE and token rotation. A service's config
 * is held in three stores, its KV record, its route claim in the route
 * registry and this coordinator, and KV has no compare-and-swap. When the API
 * wrote them itself, two overlapping writes of one service could each land
 * first in a different store: concurrent PUTs left the coordinator on one
 * config, the record on another and the route index on a third, for good (the
 * sweep pushes a record to the coordinator only when it is newer); a PUT that
 * read the record before a rotation wrote it back with the old token. So they
 * run here, in the service's coordinator, one at a time in the order they
 * arrive: each reads the record after the one before it wrote it, and the
 * write that comes last is the one every store keeps.
 *
 * The turns are kept by core/admin/admin-queue.ts, and they are bounded: a
 * caller is answered within ADMIN_WRITE_WAIT_MS (10 s) whatever the write
 * ahead of it does, and the queue moves on past a write that has run that
 * long. That is the one exception to the order above: such a write was
 * answered 503 ("may still complete"), and each write below checks its Turn
 * after every await and starts no further step once passed, so all that can
 * still land after a later write is the one KV write or route claim it had
 * under way. A route claim left so is the case the cron sweep already mends
 * (route-claims.ts); a record left so stays until the service's next write.
 * Held in turn instead, one call that never answers would refuse every later
 * write of the service for good, its DELETE included.
 */

/** The coordinator's clock for its AdminQueue: the Worker's time and timers. */
export const ADMIN_CLOCK: QueueClock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** One log line per call the queue gave up waiting for (core/admin/admin-queue.ts); the key's first word is the kind of write. */
export function logQueueEvent(service: string | null, key: string, event: QueueEvent): void {
  const write = key.split(" ")[0];
  console.warn(JSON.stringify({ event: `admin_write_${event}`, service, write, boundMs: ADMIN_WRITE_WAIT_MS }));
}

/**
 * The answer of a write the queue has moved on past (its caller was already answered
 * WRITE_OVERRAN): it stops before its next step, which could undo a later write's.
 */
function stopped(name: string, write: "put" | "delete" | "rotate", after: string): QueueRefusal {
  console.warn(JSON.stringify({ event: "admin_write_stopped", service: name, write, after }));
  return WRITE_OVERRAN;
}

/** What the admin writes need of the coordinator they run in. */
export interface AdminHost {
  readonly env: Env;
  readonly state: CoordinatorState;
  /** Takes up a config this queue has written to KV (and re-arms the alarm). */
  adopt(name: string, config: ServiceConfig, version: number): Promise<void>;
  /** Forgets the service: the coordinator's destroy. */
  forget(deletedVersion: number, name: string): Promise<void>;
}

/** Refusals and failures, as plain values (they cross RPC; the API turns them into its answer). */
export type AdminRefusal =
  /** The queue's: not started within the bound (never made), or not ended within it (may still take effect). */
  | QueueRefusal
  | { ok: false; error: "conflict"; message: string }
  | { ok: false; error: "not_found" }
  | { ok: false; error: "record_unreadable"; message: string }
  /** The route registry could not be reached; the service record was left as it was. */
  | { ok: false; error: "routes_unavailable" }
  /** The service's KV record could not be read or written: what was not done, in the message. */
  | { ok: false; error: "record_unavailable"; message: string };

export type PutOutcome = { ok: true; record: ServiceRecord; created: boolean; shard: number; shardVersion: number } | AdminRefusal;
export type DeleteOutcome = { ok: true; shard: number; shardVersion: number } | AdminRefusal;
export type RotateOutcome = { ok: true } | AdminRefusal;

/**
 * PUT /services/{name}. The route claim first, so two services can never both own one route (the
 * registry is the one writer), sent together with the record read; then the record; then this
 * coordinator takes the config up. The record before the config: if its write fails, the claim is
 * put back and nothing else changed; if this object is reset after it, the record and the claim
 * agree and the sweep (or the next registration) brings the config here, as it is newer.
 * `tokenHash` is used only when the service is created.
 */
export async function writeServicePut(host: AdminHost, turn: Turn, name: string, config: ServiceConfig, now: number, tokenHash: string): Promise<PutOutcome> {
  const kv = host.env.REGISTRY;
  const [claimed, read] = await Promise.allSettled([claimRoutes(host.env, name, routedService(name, config), turn), readService(kv, name)]);
  // Not even the claim put back: a later write's claim may have come since (the sweep mends the route index).
  if (turn.passed) return stopped(name, "put", "route claim");
  if (claimed.status === "rejected") return routesUnavailable(name, claimed.reason);
  const claim = claimed.value;
  const clash = claim.conflict;
  if (clash !== null) {
    return { ok: false, error: "conflict", message: `route ${clash.host ?? "any host"} ${clash.prefix} is already served by service '${clash.owner}'` };
  }
  if (read.status === "rejected") {
    await releaseRoutes(host.env, name, claim.previous, turn);
    return recordUnavailable(name, "read", read.reason, "the service registry (KV) could not be read; nothing was written, retry shortly");
  }
  const existing = replacedRecord(host.state, name, read.value);
  const version = nextVersion(host.state, existing, now);
  // The token digests this object holds decide over the record's (core/schema/credentials.ts).
  const credentials = credentialsForPut(host.state.credentials, existing, read.value instanceof RecordUnreadable, tokenHash, now);
  const record: ServiceRecord = { name, config, ...credentials, updatedAt: version };
  try {
    await putService(kv, record);
  } catch (err) {
    if (turn.passed) return stopped(name, "put", "record write failed");
    await releaseRoutes(host.env, name, claim.previous, turn);
    return recordUnavailable(name, "write", err, "the service registry (KV) could not be written; nothing was written, retry shortly");
  }
  // Its token digests and config would overwrite those a later write left here (a rotation's, a newer PUT's).
  if (turn.passed) return stopped(name, "put", "record write");
  // Kept only once KV has them: reset before this line, the object takes the record's again from the next write.
  host.state.keepCredentials(credentials);
  await host.adopt(name, config, version);
  // Its own token in force: this PUT created the service (or did, on an earlier try of this same call).
  return { ok: true, record, created: credentials.tokenHash === tokenHash, shard: claim.shard, shardVersion: claim.shardVersion };
}

/**
 * DELETE /services/{name}. This coordinator first: once it holds the tombstone, a stale register or
 * sweep cannot bring the service back, and it starts removing the instance mirror in batches from its
 * alarm. Then the route and the record; if either fails, the record is still there and a retried
 * DELETE finishes the job.
 */
export async function writeServiceDelete(host: AdminHost, turn: Turn, name: string, now: number): Promise<DeleteOutcome> {
  const kv = host.env.REGISTRY;
  let read: ServiceRecord | RecordUnreadable | null;
  try {
    read = await readService(kv, name);
  } catch (err) {
    return recordUnavailable(name, "read", err, "the service registry (KV) could not be read; nothing was deleted, retry shortly");
  }
  if (turn.passed) return stopped(name, "delete", "record read");
  if (read === null) return { ok: false, error: "not_found" };
  // A damaged record can still be deleted; the tombstone is then versioned now, later than any config it held.
  const recordVersion = read instanceof RecordUnreadable ? now : read.updatedAt;
  // The tombstone covers the config held here too, should the record have been read before a write reached KV.
  await host.forget(Math.max(recordVersion, host.state.configVersion), name);
  if (turn.passed) return stopped(name, "delete", "coordinator forget");
  let removed: { shard: number; shardVersion: number };
  try {
    removed = await claimRoutes(host.env, name, null, turn);
  } catch (err) {
    // Not retried once passed (route-claims.ts): the failure is the queue's doing, not the registry's alone.
    if (turn.passed) return stopped(name, "delete", "route removal failed");
    return routesUnavailable(name, err);
  }
  // A PUT since may have created the service anew: its record must stay.
  if (turn.passed) return stopped(name, "delete", "route removal");
  try {
    await deleteService(kv, name);
  } catch (err) {
    return recordUnavailable(name, "delete", err, "the service registry (KV) could not be written; the service is half deleted, DELETE it again");
  }
  return { ok: true, shard: removed.shard, shardVersion: removed.shardVersion };
}

/**
 * POST /services/{name}/registration-token:rotate. Only hashes are stored. The token rotated out
 * before this one is dropped: at most two work at once. updatedAt is the config's version (the
 * coordinator orders configs by it), so a rotation leaves it.
 */
export async function writeTokenRotation(host: AdminHost, turn: Turn, name: string, tokenHash: string, validUntil: number): Promise<RotateOutcome> {
  const kv = host.env.REGISTRY;
  let read: ServiceRecord | RecordUnreadable | null;
  try {
    read = await readService(kv, name);
  } catch (err) {
    return recordUnavailable(name, "read", err, "the service registry (KV) could not be read; the token was not rotated, retry shortly");
  }
  if (turn.passed) return stopped(name, "rotate", "record read");
  if (read instanceof RecordUnreadable) return { ok: false, error: "record_unreadable", message: read.message };
  // A record this coordinator deleted (a KV read can lag its own delete) must not be written back.
  if (read === null || read.updatedAt <= host.state.deletedVersion) return { ok: false, error: "not_found" };
  // From the token in force, which this object holds: the record read may predate the last rotation.
  const credentials = credentialsForRotation(host.state.credentials, credentialsOf(read), tokenHash, validUntil);
  // The config likewise: the one held here when it is not older than the record read (which may predate the last PUT,
  // whose config it would put back in KV, routes included, which the sweep rebuilds the route index from).
  const state = host.state;
  const current = state.config !== null && state.name === name && state.configVersion >= read.updatedAt ? { config: state.config, updatedAt: state.configVersion } : read;
  try {
    await putService(kv, { name, config: current.config, ...credentials, updatedAt: current.updatedAt });
  } catch (err) {
    console.error(JSON.stringify({ event: "token_rotation_write_failed", service: name, message: String(err) }));
    return { ok: false, error: "record_unavailable", message: "the service registry (KV) could not be written; the token was not rotated, retry shortly" };
  }
  // A later rotation's digests, kept here meanwhile, decide over this one's, which no caller was given.
  if (turn.passed) return stopped(name, "rotate", "record write");
  // After the write, as for a PUT: a reset in between leaves this object on the old token, which the caller still has.
  host.state.keepCredentials(credentials);
  return { ok: true };
}

/**
 * The record a PUT replaces, or null when it creates the service afresh: there is none, it is
 * damaged (its error message says a PUT replaces it, with a new token), or it is one this
 * coordinator deleted (a KV read can lag its own delete by a moment).
 */
function replacedRecord(state: CoordinatorState, name: string, read: ServiceRecord | RecordUnreadable | null): ServiceRecord | null {
  if (read instanceof RecordUnreadable) {
    console.warn(JSON.stringify({ event: "service_record_replaced", service: name, message: read.message }));
    return null;
  }
  if (read === null || read.updatedAt <= state.deletedVersion) return null;
  return read;
}

/**
 * The new config's version (its record's updatedAt): the Worker's clock, but always past every
 * version this coordinator has held or deleted and the record's own. Two PUTs can read the same
 * millisecond (workerd's clock stands still between I/O), and the coordinator ignores a config
 * that is not newer than the one it holds, so without the step the later of them would be in KV
 * and the route index while the coordinator kept the earlier.
 */
function nextVersion(state: CoordinatorState, existing: ServiceRecord | null, now: number): number {
  return Math.max(now, state.configVersion + 1, state.deletedVersion + 1, existing === null ? 0 : existing.updatedAt + 1);
}

function routesUnavailable(name: string, err: unknown): AdminRefusal {
  console.error(JSON.stringify({ event: "route_registry_unavailable", service: name, message: String(err) }));
  return { ok: false, error: "routes_unavailable" };
}

function recordUnavailable(name: string, op: "read" | "write" | "delete", err: unknown, message: string): AdminRefusal {
  console.error(JSON.stringify({ event: "service_record_io_failed", service: name, op, message: String(err) }));
  return { ok: false, error: "record_unavailable", message };
}
