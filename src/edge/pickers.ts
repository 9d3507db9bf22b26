import type { SnapshotInstance } from "../core/snapshot.js";
import { coordinator } from "../coordinator/stub.js";
import type { RoutedService } from "../registry/route-index.js";
import { getServiceView, markDown, markUp, pickLocal, type ServiceView } from "./snapshot-cache.js";
import { withTimeout } from "./with-timeout.js";

const STRICT_PICK_TIMEOUT_MS = 1_000;

/** How the router chooses an instance for each try of one request. */
export interface Picker {
  pick(tried: ReadonlySet<string>): Promise<SnapshotInstance | undefined>;
  /** Untried instances that could still take a retry. */
  remaining(tried: ReadonlySet<string>): number;
  /** True when the service has members but none is healthy (vs. no members at all). */
  allUnhealthy(): boolean;
  failed(id: string): void;
  succeeded(id: string): void;
  mode(): "snapshot" | "strict" | "kv-fallback";
  version(): number | null;
}

function countUntried(instances: readonly SnapshotInstance[], tried: ReadonlySet<string>): number {
  let n = 0;
  for (const i of instances) if (!tried.has(i.id)) n++;
  return n;
}

/** Snapshot mode: everything from isolate memory; the warm path does no I/O. */
export async function snapshotPicker(env: Env, ctx: ExecutionContext, svc: RoutedService, now: number): Promise<Picker> {
  const view: ServiceView = await getServiceView(env, ctx, svc.name, svc.balancer, now);
  return {
    pick: (tried) => Promise.resolve(pickLocal(view, tried, Date.now())),
    remaining: (tried) => countUntried(view.snapshot.instances, tried),
    allUnhealthy: () => view.snapshot.allUnhealthy,
    failed: (id) => markDown(view, id, Date.now()),
    succeeded: (id) => markUp(view, id),
    mode: () => (view.source === "kv" ? "kv-fallback" : "snapshot"),
    version: () => view.snapshot.version,
  };
}

/**
 * Strict mode: the coordinator picks every try, so round-robin is exact across
 * all isolates, at the cost of one DO round trip per try and the DO's
 * single-threaded throughput (~1,000 req/s soft limit) as the service's
 * ceiling. If the DO cannot answer, the request falls back to snapshot mode.
 */
export async function strictPicker(env: Env, ctx: ExecutionContext, svc: RoutedService, now: number): Promise<Picker> {
  let fallback: Picker | null = null;
  let lastVersion: number | null = null;
  let lastAllUnhealthy = false;
  const stub = coordinator(env, svc.name);
  const viaFallback = async (): Promise<Picker> => (fallback ??= await snapshotPicker(env, ctx, svc, now));
  return {
    async pick(tried) {
      if (fallback !== null) return fallback.pick(tried);
      try {
        const result = await withTimeout(stub.pick([...tried]), STRICT_PICK_TIMEOUT_MS, "strict pick");
        lastVersion = result.version;
        lastAllUnhealthy = result.allUnhealthy;
        return result.instance ?? undefined;
      } catch (err) {
        console.error(JSON.stringify({ event: "strict_pick_failed", service: svc.name, message: String(err) }));
        return (await viaFallback()).pick(tried);
      }
    },
    // Only the DO knows the count and asking costs a round trip: report "some" and
    // let the next pick answer undefined when none is left.
    remaining: (tried) => (fallback !== null ? fallback.remaining(tried) : Number.POSITIVE_INFINITY),
    allUnhealthy: () => (fallback !== null ? fallback.allUnhealthy() : lastAllUnhealthy),
    failed: (id) => fallback?.failed(id),
    succeeded: (id) => fallback?.succeeded(id),
    mode: () => (fallback !== null ? fallback.mode() : "strict"),
    version: () => (fallback !== null ? fallback.version() : lastVersion),
  };
}
