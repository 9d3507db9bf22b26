import { MAX_PICKS_PER_BATCH, type SnapshotInstance } from "../../core/snapshot.js";
import type { PickBatchResult } from "../../coordinator/service-coordinator.js";
import { coordinator } from "../../coordinator/stub.js";
import { withTimeout } from "../cache/with-timeout.js";

/**
 * Strict mode asks the service's coordinator for every pick. One RPC per pick
 * makes the DO's throughput the service's ceiling in requests, so picks are
 * batched:
 *
 * - Per isolate and service, one pick RPC is in flight at a time. A pick that
 *   finds none in flight is sent at once: an idle service pays no extra wait.
 * - Picks that arrive while one is in flight queue, and the queue (up to
 *   MAX_PICKS_PER_BATCH at a time) goes in the next RPC as soon as it
 *   returns. Under load that is one RPC per round trip instead of one per
 *   request, so the further away the DO, the bigger the batches.
 * - The coordinator answers a batch in order from one snapshot, so the global
 *   rotation stays exact: every pick still takes the next slot of the one
 *   round-robin. Batching only delays when a queued pick is made: by one
 *   round trip, or more when over MAX_PICKS_PER_BATCH picks are queued.
 *
 * Request contexts: the runtime ties a stub's I/O to the request that made it
 * and may cancel it when that request ends. A batch is therefore sent by a
 * request that is itself still waiting for a pick (normally the first one in
 * the batch), which also holds its context open with ctx.waitUntil until the
 * batch settles. Every other waiting request waits with a timer of its own
 * (GIVE_UP_MS after it asked). The timer is what keeps workerd from cancelling
 * it as hung: a request whose only pending work is a promise that another
 * request will resolve counts as having none. Measured: with waitUntil alone,
 * thousands of strict requests failed under load. The timer also turns a queue
 * left without a sender into a fallback to snapshot mode, never a hung request.
 * A batch that outlives its own timeout by far (its sender's context was torn
 * down) stops blocking the queue after STALE_BATCH_MS; a late answer to it can
 * then overlap the next batch.
 */
export const PICK_TIMEOUT_MS = 1_000;
/** A pick may wait out the batch ahead of it and then its own: past this it falls back. */
export const GIVE_UP_MS = 2 * PICK_TIMEOUT_MS + 250;
/** A batch still unsettled this long after it was sent lost its sender (its own timeout would have fired). */
const STALE_BATCH_MS = PICK_TIMEOUT_MS + 500;

export interface StrictPick {
  instance: SnapshotInstance | null;
  allUnhealthy: boolean;
  version: number;
}

/** How the batch that carried a pick settled it. */
type BatchSettlement = { ok: true; pick: StrictPick } | { ok: false; error: unknown };

interface Waiter {
  readonly exclude: string[];
  /** True until a batch takes this pick. */
  queued: boolean;
  /** Set by the batch that carried this pick. */
  settlement: BatchSettlement | null;
  /** Wakes this pick's request to look at its state again (its settlement, or its turn to send). */
  wake: () => void;
}

interface Queue {
  waiting: Waiter[];
  /** The batch in flight: when it was sent. Null when none is. */
  inFlight: { sentAt: number } | null;
}

const queues = new Map<string, Queue>();

function queueFor(service: string): Queue {
  let q = queues.get(service);
  if (q === undefined) {
    q = { waiting: [], inFlight: null };
    queues.set(service, q);
  }
  return q;
}

/**
 * True while a batch is in flight. A batch that has not settled well past its
 * own timeout was lost with its sender's context; it no longer blocks the queue.
 */
function sending(q: Queue, now: number): boolean {
  return q.inFlight !== null && now - q.inFlight.sentAt < STALE_BATCH_MS;
}

/** Sends the first queued picks in one RPC and settles each of them. */
function send(env: Env, ctx: ExecutionContext, service: string, q: Queue): void {
  const batch = q.waiting.splice(0, MAX_PICKS_PER_BATCH);
  for (const w of batch) w.queued = false;
  const flight = { sentAt: Date.now() };
  q.inFlight = flight;
  let rpc: Promise<PickBatchResult>;
  try {
    rpc = coordinator(env, service).pickBatch(batch.map((w) => w.exclude));
  } catch (err) {
    rpc = Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  const done = withTimeout(rpc, PICK_TIMEOUT_MS, "strict pick")
    .then(
      (result) => {
        if (!result.ok) {
          const error = new Error(`coordinator refused the batch: ${result.error} (max ${result.max})`);
          for (const w of batch) w.settlement = { ok: false, error };
          return;
        }
        batch.forEach((w, i) => {
          w.settlement = { ok: true, pick: { instance: result.instances[i] ?? null, allUnhealthy: result.allUnhealthy, version: result.version } };
        });
      },
      (error: unknown) => {
        for (const w of batch) w.settlement = { ok: false, error };
      },
    )
    .finally(() => {
      // A batch given up as stale must not clear the flag of the batch sent after it.
      if (q.inFlight === flight) q.inFlight = null;
      for (const w of batch) w.wake();
      // The next batch is sent by the request at the head of the queue, from its own context.
      q.waiting[0]?.wake();
    });
  ctx.waitUntil(done);
}

/**
 * One strict-mode pick for `service`, excluding the instances this request
 * already tried. Rejects when the coordinator cannot answer in time; the
 * caller falls back to snapshot mode.
 */
export async function strictPick(env: Env, ctx: ExecutionContext, service: string, exclude: string[]): Promise<StrictPick> {
  const q = queueFor(service);
  const waiter: Waiter = { exclude, queued: true, settlement: null, wake: () => undefined };
  q.waiting.push(waiter);
  const deadline = Date.now() + GIVE_UP_MS;
  let release: (() => void) | null = null;
  try {
    for (;;) {
      if (waiter.settlement !== null) {
        if (waiter.settlement.ok) return waiter.settlement.pick;
        throw waiter.settlement.error;
      }
      const woken = new Promise<void>((resolve) => {
        waiter.wake = resolve;
      });
      if (waiter.queued && !sending(q, Date.now())) {
        send(env, ctx, service, q);
        // Our own batch: its RPC and timer are this request's pending I/O.
        if (!waiter.queued) {
          await woken;
          continue;
        }
      }
      // Waiting on another request's RPC: hold this context open (it may have to
      // send the next batch) and wait with a timer of its own, see above.
      if (release === null) ctx.waitUntil(new Promise<void>((resolve) => (release = resolve)));
      try {
        await withTimeout(woken, Math.max(1, deadline - Date.now()), "queued strict pick");
      } catch (err) {
        if (waiter.settlement !== null) continue;
        if (waiter.queued) {
          q.waiting.splice(q.waiting.indexOf(waiter), 1);
          // Leaving the head of the queue must not strand the picks behind it.
          if (!sending(q, Date.now())) q.waiting[0]?.wake();
        }
        throw err;
      }
    }
  } finally {
    // `release` is assigned inside a Promise executor, which TypeScript cannot see.
    (release as (() => void) | null)?.();
  }
}
