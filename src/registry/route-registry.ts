import { DurableObject } from "cloudflare:workers";
import { RouteClaims } from "../core/routes/route-claims.js";
import type { ServiceRecord } from "../core/schema/service.js";
import { KEY } from "./keys.js";
import { listServiceNames, readServices, RecordUnreadable } from "./kv-registry.js";
import { routedService, type RoutedService } from "./route-index.js";
import { ROUTE_SHARDS, ROUTE_VERSION_KEY, routeShardKey, shardOf, type RouteShard, type RouteVersions } from "./route-shards.js";

/**
 * KV allows one write per second per key. Flushes are at least this far
 * apart, so neither the version key nor any shard key is written faster,
 * however many services change at once: changes in between are batched into
 * the next flush (a group commit).
 */
export const FLUSH_SPACING_MS = 1_000;
/** After a failed KV write, the next flush waits this long. */
const FLUSH_RETRY_MS = 5_000;
/**
 * How long after an admin change (`put`) the sweep's rebuild leaves that name
 * alone. The rebuild follows records read from KV, and a KV write can take up
 * to 60 s to show in another location's list and get (Workers KV docs); the
 * cron runs anywhere. So within a minute of a change made elsewhere its old
 * state can still be read, and following it would drop a new service, revert
 * new routes or bring back a deleted one. The mark is taken before the PUT or
 * DELETE writes KV (seconds later, after the coordinator), and the sweep's
 * read time comes from another machine's clock: twice the 60 s covers both
 * with room to spare. Past it, a record that still disagrees is KV's settled
 * state (say a PUT whose record write and rollback both failed), repaired as
 * before.
 */
export const ROUTE_CHANGE_HOLD_MS = 120_000;

/** `conflict` set: refused, nothing changed. Otherwise `previous` is what the change replaced. One shape, not a union, so RPC types it plainly. */
export interface PutRouteResult {
  conflict: { host: string | null; prefix: string; owner: string } | null;
  previous: RoutedService | null;
  shard: number;
  shardVersion: number;
}

export interface RegistryState {
  services: number;
  version: number;
  shards: number[];
  written: number[];
  lastFlushAt: number;
}

/**
 * The one writer of the route index (idFromName("routes"), binding ROUTES).
 * It keeps every service's routed entry in SQLite and the (host, prefix)
 * claims in memory, so a service change is checked for route conflicts and
 * applied in O(that service's rules), and written to KV as one shard plus the
 * version key (src/registry/route-shards.ts, docs/storage.md). Before this
 * object, every change read and rewrote the whole index under one key.
 *
 * It sits on the control plane only: routers read KV and never call it. Admin
 * writes are rare next to the ~1,000 requests/s one object can serve.
 */
export class RouteRegistry extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  readonly #claims = new RouteClaims();
  readonly #rows = new Map<string, { shard: number; routed: RoutedService }>();
  /** In-memory version of each shard, and the version last written to KV. */
  #versions: number[];
  #written: number[];
  #flushVersion: number;
  #lastFlushAt: number;
  #bootstrapped: boolean;
  #bootstrapping: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS routed (name TEXT PRIMARY KEY, shard INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS route_changes (name TEXT PRIMARY KEY, at INTEGER NOT NULL);`);
    for (const row of this.#sql.exec<{ name: string; shard: number; body: string }>("SELECT name, shard, body FROM routed")) {
      const routed = JSON.parse(row.body) as RoutedService;
      this.#rows.set(row.name, { shard: row.shard, routed });
      this.#claims.set(row.name, routed.routes);
    }
    this.#versions = this.#metaArray("versions");
    this.#written = this.#metaArray("written");
    this.#flushVersion = Number(this.#meta("flush_version") ?? "0");
    this.#lastFlushAt = Number(this.#meta("last_flush_at") ?? "0");
    this.#bootstrapped = this.#meta("bootstrapped") === "1";
  }

  /**
   * Sets (or with null removes) one service's routed entry. Refused, with the
   * rule another service owns, when its routes clash. `previous` lets the
   * caller undo the change if its own later writes fail. Every accepted call,
   * one that changes nothing included, is marked for the sweep's hold
   * (ROUTE_CHANGE_HOLD_MS): the caller writes KV after it.
   */
  async put(name: string, routed: RoutedService | null): Promise<PutRouteResult> {
    await this.#bootstrap();
    const previous = this.#rows.get(name)?.routed ?? null;
    const shard = shardOf(name);
    if (routed !== null) {
      const conflict = this.#claims.conflictFor(name, routed.routes);
      if (conflict !== null) {
        return { conflict: { host: conflict.host, prefix: conflict.prefix, owner: conflict.services[0] }, previous, shard, shardVersion: this.#versions[shard] ?? 0 };
      }
    }
    this.#sql.exec("INSERT OR REPLACE INTO route_changes (name, at) VALUES (?, ?)", name, Date.now());
    if (JSON.stringify(previous) !== JSON.stringify(routed)) {
      this.#apply(name, routed);
      await this.#scheduleFlush();
    }
    return { conflict: null, previous, shard, shardVersion: this.#versions[shard] ?? 0 };
  }

  /**
   * Replaces every entry with those built from the service records (the cron
   * sweep's repair, after racing admin writes or a lost flush). A record whose
   * routes clash with one before it, by name, keeps its old entry, if any.
   * A name `put` changed within ROUTE_CHANGE_HOLD_MS of `readAt` (when the
   * sweep began reading KV) is left as it is, record or not: KV may not show
   * that change yet. Its entry still holds its routes against other records.
   */
  async replaceAll(records: readonly ServiceRecord[], readAt: number): Promise<{ changed: number; held: number; version: number }> {
    this.#markBootstrapped();
    const recent = this.#recentChanges(readAt);
    const wanted = new Map(records.map((r) => [r.name, routedService(r.name, r.config)]));
    let changed = 0;
    // Entries the records disagree with that the hold kept as they are: for the sweep record, so an
    // operator can tell a rebuild that found nothing to repair from one that waited.
    let held = 0;
    for (const name of [...this.#rows.keys()]) {
      if (wanted.has(name)) continue;
      if (recent.has(name)) {
        held++;
        continue;
      }
      this.#apply(name, null);
      changed++;
    }
    for (const name of [...wanted.keys()].sort()) {
      const routed = wanted.get(name);
      if (routed === undefined || JSON.stringify(this.#rows.get(name)?.routed ?? null) === JSON.stringify(routed)) continue;
      if (recent.has(name)) {
        held++;
        continue;
      }
      const conflict = this.#claims.conflictFor(name, routed.routes);
      if (conflict !== null) {
        console.error(JSON.stringify({ event: "route_conflict_in_records", service: name, owner: conflict.services[0], prefix: conflict.prefix }));
        continue;
      }
      this.#apply(name, routed);
      changed++;
    }
    if (changed > 0) await this.#scheduleFlush();
    return { changed, held, version: this.#flushVersion };
  }

  /** The registry's own view, for the sweep record, tests and the bench. */
  state(): RegistryState {
    return { services: this.#rows.size, version: this.#flushVersion, shards: [...this.#versions], written: [...this.#written], lastFlushAt: this.#lastFlushAt };
  }

  override async alarm(): Promise<void> {
    await this.#flush();
  }

  /**
   * Names `put` changed within the hold, counted back from the earlier of
   * `readAt` and now; older marks are pruned (the hold no longer reads them).
   */
  #recentChanges(readAt: number): Set<string> {
    const horizon = Math.min(readAt, Date.now()) - ROUTE_CHANGE_HOLD_MS;
    this.#sql.exec("DELETE FROM route_changes WHERE at <= ?", horizon);
    return new Set(this.#sql.exec<{ name: string }>("SELECT name FROM route_changes").toArray().map((r) => r.name));
  }

  #apply(name: string, routed: RoutedService | null): void {
    const shard = shardOf(name);
    if (routed === null) {
      this.#rows.delete(name);
      this.#sql.exec("DELETE FROM routed WHERE name = ?", name);
    } else {
      this.#rows.set(name, { shard, routed });
      this.#sql.exec("INSERT OR REPLACE INTO routed (name, shard, body) VALUES (?, ?, ?)", name, shard, JSON.stringify(routed));
    }
    this.#claims.set(name, routed === null ? null : routed.routes);
    this.#versions[shard] = (this.#versions[shard] ?? 0) + 1;
    this.#setMeta("versions", JSON.stringify(this.#versions));
  }

  async #scheduleFlush(): Promise<void> {
    const at = Math.max(Date.now(), this.#lastFlushAt + FLUSH_SPACING_MS);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Writes each shard whose version moved, then the version key. Safe to run twice. */
  async #flush(): Promise<void> {
    const dirty: number[] = [];
    for (let s = 0; s < ROUTE_SHARDS; s++) if ((this.#versions[s] ?? 0) !== (this.#written[s] ?? 0)) dirty.push(s);
    if (dirty.length === 0) return;
    const now = Date.now();
    const kv = this.env.REGISTRY;
    try {
      const writes = dirty.map((s) => {
        const shard: RouteShard = { shard: s, version: this.#versions[s] ?? 0, generatedAt: now, services: this.#servicesIn(s) };
        return kv.put(routeShardKey(s), JSON.stringify(shard)).then(() => [s, shard.version] as const);
      });
      const done = await Promise.all(writes);
      // The version key names only versions now in KV, so a router never asks for a shard that is not there yet.
      const written = [...this.#written];
      for (const [s, v] of done) written[s] = v;
      const versions: RouteVersions = { version: this.#flushVersion + 1, generatedAt: now, shards: Array.from({ length: ROUTE_SHARDS }, (_, s) => written[s] ?? 0) };
      await kv.put(ROUTE_VERSION_KEY, JSON.stringify(versions));
      this.#written = versions.shards;
      this.#flushVersion = versions.version;
      this.#lastFlushAt = now;
      this.#setMeta("written", JSON.stringify(this.#written));
      this.#setMeta("flush_version", String(this.#flushVersion));
      this.#setMeta("last_flush_at", String(now));
      // The single-key index of earlier releases is not read once the version key exists; drop it once.
      if (this.#meta("legacy_removed") !== "1") {
        await kv.delete(KEY.routeIndex);
        this.#setMeta("legacy_removed", "1");
      }
    } catch (err) {
      console.error(JSON.stringify({ event: "route_index_flush_failed", shards: dirty, message: String(err) }));
      await this.ctx.storage.setAlarm(Date.now() + FLUSH_RETRY_MS);
      return;
    }
    // Changes that arrived while writing go out in the next flush, a spacing later.
    if (this.#versions.some((v, s) => v !== (this.#written[s] ?? 0))) await this.#scheduleFlush();
  }

  #servicesIn(shard: number): RoutedService[] {
    const out: RoutedService[] = [];
    for (const row of this.#rows.values()) if (row.shard === shard) out.push(row.routed);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * A registry created after services already existed (an upgrade from the
   * single-key index) loads them from their records once; until then a
   * conflict check could miss their routes. Concurrent first calls share it.
   */
  async #bootstrap(): Promise<void> {
    if (this.#bootstrapped) return;
    this.#bootstrapping ??= (async () => {
      const names = await listServiceNames(this.env.REGISTRY);
      const records = await readServices(this.env.REGISTRY, names);
      if (this.#bootstrapped) return;
      // A damaged record fails the load, as one unreadable get did: its routes must not be dropped unseen.
      const damaged = records.find((r) => r instanceof RecordUnreadable);
      if (damaged !== undefined) throw damaged;
      for (const r of records) {
        if (r === null || r instanceof RecordUnreadable || this.#rows.has(r.name)) continue;
        const routed = routedService(r.name, r.config);
        if (this.#claims.conflictFor(r.name, routed.routes) === null) this.#apply(r.name, routed);
      }
      this.#markBootstrapped();
      if (records.length > 0) await this.#scheduleFlush();
    })().finally(() => {
      this.#bootstrapping = null;
    });
    await this.#bootstrapping;
  }

  #markBootstrapped(): void {
    this.#bootstrapped = true;
    this.#setMeta("bootstrapped", "1");
  }

  #meta(key: string): string | null {
    return this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  #metaArray(key: string): number[] {
    const text = this.#meta(key);
    const parsed: unknown = text === null ? [] : JSON.parse(text);
    return Array.isArray(parsed) ? parsed.map((v) => (typeof v === "number" ? v : 0)) : [];
  }

  #setMeta(key: string, value: string): void {
    this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }
}

/** The mesh's one route registry (another `name` only for tests). */
export function routeRegistry(env: Env, name = "routes"): DurableObjectStub<RouteRegistry> {
  return env.ROUTES.get(env.ROUTES.idFromName(name));
}

