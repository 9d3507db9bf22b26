import { callCoordinator } from "../coordinator/stub.js";
import { KEY } from "../registry/keys.js";
import { mapPool } from "../core/map-pool.js";
import { listServiceNames, readServicesSettled } from "../registry/kv-registry.js";
import { routeRegistry } from "../registry/route-registry.js";
import { credentialsOf } from "../core/schema/credentials.js";
import type { ServiceRecord } from "../core/schema/service.js";
import { sliceSize, sweepSlice } from "../core/sweep/slice.js";

/**
 * The cron safety net (every minute; cron cannot run more often). Each
 * service's alarm does the real work every few seconds; the sweep makes sure
 * no coordinator was left without an alarm or a config, reaps leases even if
 * an alarm was lost, and repairs the route index after racing admin writes
 * (leaving alone, for ROUTE_CHANGE_HOLD_MS, a service an admin just changed:
 * KV may not show that change here yet).
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
  /** Route entries the records disagreed with, left as an admin set them less than ROUTE_CHANGE_HOLD_MS ago (docs/storage.md). */
  routeHeld: number;
  /** Coordinators this run swept: every service, or a slice of SWEEP_SLICE once there are more. */
  swept: number;
  /** The service the next run starts from; null when this run took every service (core/sweep/slice.ts). */
  nextFrom: string | null;
}

/**
 * Coordinators one run sweeps at most. Each takes two RPCs (configure,
 * sweep), and an invocation may make 1,000 operations to other services,
 * KV's included (core/sweep/slice.ts), so a run stays at 901 RPCs with the
 * route registry's rebuild, plus its KV operations; past 450 services each is
 * swept every ⌈n / 450⌉ minutes, and past about 9,000 the slice shrinks so
 * that the bulk reads fit too (sliceSize). Every coordinator's own alarm does
 * the real work each health interval: the sweep is the net under a lost alarm
 * or config.
 */
export const SWEEP_SLICE = 450;

/** Coordinators swept at once; each is one RPC, and a Worker invocation keeps 6 connections open at a time. */
const SWEEP_CONCURRENCY = 6;

export async function sweepAll(env: Env, now: number, slice = SWEEP_SLICE): Promise<SweepRecord> {
  const [names, last] = await Promise.all([listServiceNames(env.REGISTRY), lastCursor(env.REGISTRY)]);
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
    routeHeld: 0,
    swept: 0,
    nextFrom: null,
  };
  // Every record in bulk reads (⌈n/100⌉ KV operations): one get per service passed the 1,000 KV
  // operations an invocation may make at about a thousand services.
  // A bulk read that fails fails its own hundred names, not every service. A service whose record
  // could not be read (a failed read, or a RecordUnreadable) is named and not configured, but still
  // swept: reaping leases and re-arming the alarm need no record, and skipping them left a damaged
  // record's coordinator without the net under a lost alarm, and a slice past a failed read unswept
  // for another ⌈n / SWEEP_SLICE⌉ runs.
  const reads = await readServicesSettled(env.REGISTRY, names);
  // Every record is read, and an unreadable one named, each run; only this run's slice of coordinators is swept.
  let allRead = true;
  const live: ServiceRecord[] = [];
  names.forEach((name, i) => {
    const read = reads[i] ?? null;
    if (read instanceof Error) {
      allRead = false;
      record.errors.push({ service: name, message: String(read) });
    } else if (read !== null) live.push(read);
  });
  const chosen = sweepSlice(names, last, sliceSize(names.length, slice));
  record.nextFrom = chosen.nextFrom;
  await mapPool(chosen.indices, SWEEP_CONCURRENCY, async (i) => {
    const name = names[i];
    const read = reads[i] ?? null;
    if (name === undefined) return;
    record.swept++;
    await sweepOne(env, name, read instanceof Error ? null : read, record);
  });
  // The route registry is rebuilt from the records just read, unless a read failed: a missing record must not drop its routes.
  // `now` is when the reading began: names an admin changed shortly before it are left alone (ROUTE_CHANGE_HOLD_MS), as
  // this location's KV may not show the change yet, and the coordinators swept in between can take a while.
  try {
    const registry = routeRegistry(env);
    if (allRead) {
      const rebuilt = await registry.replaceAll(live, now);
      record.routeIndexVersion = rebuilt.version;
      record.routeHeld = rebuilt.held;
    } else {
      record.routeIndexVersion = (await registry.state()).version;
    }
  } catch (err) {
    record.errors.push({ service: "(route registry)", message: String(err) });
  }
  record.durationMs = Date.now() - now;
  await env.REGISTRY.put(KEY.lastSweep, JSON.stringify(record));
  return record;
}

/** Where the last run stopped; a record from before slices, or a damaged one, starts from the first service. */
async function lastCursor(kv: KVNamespace): Promise<string | null> {
  try {
    const last = await kv.get<{ nextFrom?: unknown }>(KEY.lastSweep, "json");
    return typeof last?.nextFrom === "string" ? last.nextFrom : null;
  } catch {
    return null;
  }
}

/** One coordinator: its config back first if it lost it (or it failed validation) and the record is at hand, then its sweep; totals into `record`. */
async function sweepOne(env: Env, name: string, service: ServiceRecord | null, record: SweepRecord): Promise<void> {
  try {
    // The record's credentials too: an object from before coordinators kept them adopts KV's (it keeps its own otherwise).
    if (service !== null) await callCoordinator(env, name, (s) => s.configure(name, service.config, service.updatedAt, credentialsOf(service)));
    const result = await callCoordinator(env, name, (s) => s.sweep());
    record.expired += result.expired;
    record.removed += result.removed;
    record.mirrorRepaired += result.mirrorRepaired;
    record.corruptRepaired += result.corruptRepaired;
    record.corruptRemoved += result.corruptRemoved;
  } catch (err) {
    record.errors.push({ service: name, message: String(err) });
  }
}
