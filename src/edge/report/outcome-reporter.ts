import { foldOutcome, type InstanceReport, type TryOutcome } from "../../core/snapshot.js";
import { coordinator } from "../../coordinator/stub.js";
import { metricsPending, takeMetrics } from "./metrics-sink.js";

/**
 * Folds try outcomes into one running report per instance and service in
 * isolate memory (core/snapshot.ts, foldOutcome) and ships them to the
 * service's coordinator from ctx.waitUntil, never on the response path.
 * Failures go out within URGENT_GAP_MS (they feed passive health and the
 * confirming probe); successes within FLUSH_DELAY_MS. Folding keeps both the
 * memory held and the report's size at one entry per instance tried, however
 * many requests a busy isolate serves, so a flush is needed only for
 * freshness: an isolate sends a service at most one report a second plus one
 * per URGENT_GAP_MS while tries fail, whatever its rate. At most one flush is
 * in flight per isolate.
 */
const FLUSH_DELAY_MS = 1_000;
const URGENT_GAP_MS = 200;

/** Per service, the running report of each instance tried since the last flush. */
const pending = new Map<string, Map<string, InstanceReport>>();
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
  await Promise.all(
    batches.map(async ([service, byId]) => {
      const reports = [...byId.values()];
      try {
        // The metrics delta rides along (metrics-sink.ts); undefined when metrics are off.
        await coordinator(env, service).report(reports, takeMetrics(service));
      } catch (err) {
        // Losing one batch of passive stats is acceptable; active checks still run.
        const outcomes = reports.reduce((n, r) => n + r.requests, 0);
        console.error(JSON.stringify({ event: "report_failed", service, outcomes, message: String(err) }));
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
  let byId = pending.get(service);
  if (outcomes.length === 0) {
    // No try, but a metrics delta to ship (a 503 no_healthy_instance, a refused token): the regular flush takes it.
    if (!metricsPending(service)) return;
    if (byId === undefined) pending.set(service, new Map());
    schedule(env, ctx, FLUSH_DELAY_MS);
    return;
  }
  if (byId === undefined) {
    byId = new Map();
    pending.set(service, byId);
  }
  for (const o of outcomes) {
    foldOutcome(byId, o);
    if (!o.ok) urgentPending = true;
  }
  if (urgentPending) {
    schedule(env, ctx, Math.max(0, lastFlushAt + URGENT_GAP_MS - Date.now()));
  } else {
    schedule(env, ctx, FLUSH_DELAY_MS);
  }
}
