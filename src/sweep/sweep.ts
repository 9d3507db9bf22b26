import { callCoordinator } from "../coordinator/stub.js";
import { KEY } from "../registry/keys.js";
import { mapPool } from "../core/map-pool.js";
import { getService, listServiceNames } from "../registry/kv-registry.js";
import { routeRegistry } from "../registry/route-registry.js";
import type { ServiceRecord } from "../core/schema/service.js";

/**
 * The cron safety net (every minute; cron cannot run more often). Each
 * service's alarm does the real work every few seconds; the sweep makes sure
 * no coordinator was left without an alarm or a config, reaps leases even if
 * an alarm was lost, and repairs the route index after racing admin writes.
 */
export interface SweepRecord {
  at: string;
  durationMs: number;
  services: number;
  expired: number;
  removed: number;
  /** Instance keys the coordinators rewrote or deleted so the KV mirror matches their members. */
  mirrorRepaired: number;
  /** Instance rows that failed validation when a coordinator loaded its store: reset, or deleted (docs/storage.md). */
  corruptRepaired: number;
  corruptRemoved: number;
  errors: { service: string; message: string }[];
  routeIndexVersion: number;
}

/** Coordinators swept at once; each is one RPC, and a Worker invocation keeps 6 connections open at a time. */
const SWEEP_CONCURRENCY = 6;

export async function sweepAll(env: Env, now: number): Promise<SweepRecord> {
  const names = await listServiceNames(env.REGISTRY);
  const record: SweepRecord = {
    at: new Date(now).toISOString(),
    durationMs: 0,
    services: names.length,
    expired: 0,
    removed: 0,
    mirrorRepaired: 0,
    corruptRepaired: 0,
    corruptRemoved: 0,
    errors: [],
    routeIndexVersion: 0,
  };
  let allRead = true;
  const services = await mapPool(names, SWEEP_CONCURRENCY, async (name) => {
    let service: ServiceRecord | null;
    try {
      service = await getService(env.REGISTRY, name);
    } catch (err) {
      allRead = false;
      record.errors.push({ service: name, message: String(err) });
      return null;
    }
    try {
      // A coordinator that lost its storage (or whose stored config failed validation) gets its config back before sweeping.
      const svc = service;
      if (svc !== null) await callCoordinator(env, name, (s) => s.configure(name, svc.config, svc.updatedAt));
      const result = await callCoordinator(env, name, (s) => s.sweep());
      record.expired += result.expired;
      record.removed += result.removed;
      record.mirrorRepaired += result.mirrorRepaired;
      record.corruptRepaired += result.corruptRepaired;
      record.corruptRemoved += result.corruptRemoved;
    } catch (err) {
      record.errors.push({ service: name, message: String(err) });
    }
    return service;
  });
  // The route registry is rebuilt from the records just read, unless a read failed: a missing record must not drop its routes.
  try {
    const registry = routeRegistry(env);
    const live = services.filter((r): r is ServiceRecord => r !== null);
    record.routeIndexVersion = allRead ? (await registry.replaceAll(live)).version : (await registry.state()).version;
  } catch (err) {
    record.errors.push({ service: "(route registry)", message: String(err) });
  }
  record.durationMs = Date.now() - now;
  await env.REGISTRY.put(KEY.lastSweep, JSON.stringify(record));
  return record;
}
