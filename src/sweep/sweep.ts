import { callCoordinator } from "../coordinator/stub.js";
import { KEY } from "../registry/keys.js";
import { mapPool } from "../core/map-pool.js";
import { listServiceNames, readServices, RecordUnreadable } from "../registry/kv-registry.js";
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
  // Every record in bulk reads (⌈n/100⌉ KV operations): one get per service passed the 1,000 KV
  // operations an invocation may make at about a thousand services.
  // A failed bulk read is every service's read failing: none is swept or configured from a record it lacks.
  let reads: (ServiceRecord | RecordUnreadable | Error | null)[];
  try {
    reads = await readServices(env.REGISTRY, names);
  } catch (err) {
    const failed = err instanceof Error ? err : new Error(String(err));
    reads = names.map(() => failed);
  }
  let allRead = true;
  const services = await mapPool(
    names.map((name, i) => ({ name, read: reads[i] ?? null })),
    SWEEP_CONCURRENCY,
    async ({ name, read }) => {
      if (read instanceof Error) {
        allRead = false;
        record.errors.push({ service: name, message: String(read) });
        return null;
      }
      return sweepOne(env, name, read, record);
    },
  );
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

/** One coordinator: its config back first if it lost it (or it failed validation), then its sweep; totals into `record`. */
async function sweepOne(env: Env, name: string, service: ServiceRecord | null, record: SweepRecord): Promise<ServiceRecord | null> {
  try {
    if (service !== null) await callCoordinator(env, name, (s) => s.configure(name, service.config, service.updatedAt));
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
}
