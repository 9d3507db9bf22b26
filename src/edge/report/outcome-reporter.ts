import { aggregateOutcomes, type TryOutcome } from "../../core/snapshot.js";
import { coordinator } from "../../coordinator/stub.js";
import { metricsPending, takeMetrics } from "./metrics-sink.js";

/**
 * Batches try outcomes per service in isolate memory and ships them to the
 * service's coordinator from ctx.waitUntil, never on the response path.
 * Failures go out within URGENT_GAP_MS (they feed passive health and the
 * confirming probe); successes wait up to FLUSH_DELAY_MS or until MAX_BATCH
 * pile up. At most one flush is in flight per isolate, so an origin that fails
 * every other request costs the DO a few RPCs per second per isolate, not one
 * per failed request.
 */
const FLUSH_DELAY_MS = 1_000;
const URGENT_GAP_MS = 200;
const MAX_BATCH = 256;

const pending = new Map<string, TryOutcome[]>();
let buffered = 0;
let urgentPending = false;
/** When the scheduled flush fires; null when none is scheduled. */
let flushAt: number | null = null;
let lastFlushAt = 0;

async function flush(env: Env): Promise<void> {
  flushAt = null;
  urgentPending = false;
  lastFlushAt = Date.now();
  const batches = [...pending.entries()];
  pending.clear();
  buffered = 0;
  await Promise.all(
    batches.map(async ([service, outcomes]) => {
      try {
        // The metrics delta rides along (metrics-sink.ts); undefined when metrics are off.
        await coordinator(env, service).report(aggregateOutcomes(outcomes), takeMetrics(service));
      } catch (err) {
        // Losing one batch of passive stats is acceptable; active checks still run.
        console.error(JSON.stringify({ event: "report_failed", service, outcomes: outcomes.length, message: String(err) }));
      }
    }),
  );
}

function schedule(env: Env, ctx: ExecutionContext, delayMs: number): void {
  const at = Date.now() + delayMs;
  // A flush already due sooner covers this one.
  if (flushAt !== null && flushAt <= at) return;
  flushAt = at;
  ctx.waitUntil(
    new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => (flushAt === at ? flush(env) : undefined)),
  );
}

export function recordOutcomes(env: Env, ctx: ExecutionContext, service: string, outcomes: readonly TryOutcome[]): void {
  if (outcomes.length === 0) {
    // No try, but a metrics delta to ship (a 503 no_healthy_instance, a refused token): the regular flush takes it.
    if (!metricsPending(service)) return;
    if (!pending.has(service)) pending.set(service, []);
    schedule(env, ctx, FLUSH_DELAY_MS);
    return;
  }
  let list = pending.get(service);
  if (list === undefined) {
    list = [];
    pending.set(service, list);
  }
  for (const o of outcomes) {
    list.push(o);
    if (!o.ok) urgentPending = true;
  }
  buffered += outcomes.length;
  if (buffered >= MAX_BATCH) {
    ctx.waitUntil(flush(env));
  } else if (urgentPending) {
    schedule(env, ctx, Math.max(0, lastFlushAt + URGENT_GAP_MS - Date.now()));
  } else {
    schedule(env, ctx, FLUSH_DELAY_MS);
  }
}
