import { BUCKET_COUNT, bucketIndex } from "./buckets.js";
import { CODE_CLASSES, codeClassIndex, emptyRecord, failedOver, MAX_OUTCOME_LENGTH, NO_INSTANCE, requestKey, type MetricsRecord } from "./record.js";

/** One try as the accumulator needs it (a TryOutcome fits). */
export interface TriedInstance {
  readonly instanceId: string;
  readonly ok: boolean;
  readonly latencyMs: number;
}

/** What a router ships per service with its outcome batch: one record per instance that saw requests or tries. */
export interface MetricsDelta {
  instances: { instance: string; record: MetricsRecord }[];
}

/** Distinct outcome names one accumulator tracks; later ones count as OTHER_OUTCOME, so a bug cannot grow it without bound. */
export const MAX_OUTCOMES = 32;
export const OTHER_OUTCOME = "other";
/** Instances tracked per service between two flushes (admission allows 2,000 members); the rest count under NO_INSTANCE. */
export const MAX_INSTANCES_PER_SERVICE = 2048;

const CLASSES = CODE_CLASSES.length;

/** Counters for one instance, allocated once and reused across flushes: recording a request allocates nothing. */
class InstanceCounters {
  readonly requests = new Float64Array(MAX_OUTCOMES * CLASSES);
  readonly client = new Float64Array(BUCKET_COUNT);
  readonly upstream = new Float64Array(BUCKET_COUNT);
  clientSum = 0;
  upstreamSum = 0;
  retries = 0;
  failovers = 0;
  touched = false;

  reset(): void {
    this.requests.fill(0);
    this.client.fill(0);
    this.upstream.fill(0);
    this.clientSum = 0;
    this.upstreamSum = 0;
    this.retries = 0;
    this.failovers = 0;
    this.touched = false;
  }
}

/**
 * Per-isolate metrics deltas, per service and instance, between two flushes
 * to the coordinator. Pure (no clock, no I/O): the caller passes latencies.
 * The per-request cost is a few map lookups and integer increments into
 * preallocated typed arrays; `take` turns one service's counters into a
 * MetricsDelta and zeroes them, dropping instances idle for a whole interval.
 */
export class MetricsAccumulator {
  readonly #services = new Map<string, Map<string, InstanceCounters>>();
  readonly #outcomeIds = new Map<string, number>();
  readonly #outcomeNames: string[] = [];

  #outcomeId(outcome: string): number {
    const id = this.#outcomeIds.get(outcome);
    if (id !== undefined) return id;
    const full = this.#outcomeNames.length >= MAX_OUTCOMES - 1;
    if (full || outcome.length > MAX_OUTCOME_LENGTH || outcome === OTHER_OUTCOME) return this.#named(OTHER_OUTCOME);
    return this.#named(outcome);
  }

  #named(outcome: string): number {
    const known = this.#outcomeIds.get(outcome);
    if (known !== undefined) return known;
    const id = this.#outcomeNames.length;
    this.#outcomeNames.push(outcome);
    this.#outcomeIds.set(outcome, id);
    return id;
  }

  #counters(service: string, instance: string): InstanceCounters {
    let byInstance = this.#services.get(service);
    if (byInstance === undefined) {
      byInstance = new Map();
      this.#services.set(service, byInstance);
    }
    let c = byInstance.get(instance);
    if (c === undefined) {
      if (byInstance.size >= MAX_INSTANCES_PER_SERVICE && instance !== NO_INSTANCE) return this.#counters(service, NO_INSTANCE);
      c = new InstanceCounters();
      byInstance.set(instance, c);
    }
    c.touched = true;
    return c;
  }

  /**
   * One finished request: its outcome and status go to the instance that
   * answered last (`instance`, null when none did), its client-seen latency
   * likewise, and each try's latency to the instance tried.
   */
  recordRequest(service: string, instance: string | null, outcome: string, status: number, clientMs: number, tries: readonly TriedInstance[]): void {
    const c = this.#counters(service, instance ?? NO_INSTANCE);
    const k = this.#outcomeId(outcome) * CLASSES + codeClassIndex(status);
    c.requests[k] = (c.requests[k] ?? 0) + 1;
    const b = bucketIndex(clientMs);
    c.client[b] = (c.client[b] ?? 0) + 1;
    c.clientSum += clientMs > 0 ? clientMs : 0;
    const n = tries.length;
    if (n > 1) c.retries += n - 1;
    if (failedOver(tries)) c.failovers++;
    this.#recordUpstream(service, instance, c, tries);
  }

  /**
   * The tries a service made before it handed the request to its fallbackService: each in the
   * tried instance's upstream histogram, and those beyond the first as this service's retries
   * (under the last instance tried). The request itself is counted once, by recordRequest, under
   * the service that answered it.
   */
  recordHandedOn(service: string, tries: readonly TriedInstance[]): void {
    const n = tries.length;
    const last = tries[n - 1];
    if (last === undefined) return;
    const c = this.#counters(service, last.instanceId);
    c.retries += n - 1;
    this.#recordUpstream(service, last.instanceId, c, tries);
  }

  #recordUpstream(service: string, instance: string | null, c: InstanceCounters, tries: readonly TriedInstance[]): void {
    for (let i = 0; i < tries.length; i++) {
      const t = tries[i];
      if (t === undefined) continue;
      const u = t.instanceId === instance ? c : this.#counters(service, t.instanceId);
      const ub = bucketIndex(t.latencyMs);
      u.upstream[ub] = (u.upstream[ub] ?? 0) + 1;
      u.upstreamSum += t.latencyMs > 0 ? t.latencyMs : 0;
    }
  }

  /** Whether the service has counters that may hold a delta. */
  has(service: string): boolean {
    return this.#services.has(service);
  }

  /** One service's delta since the last take, counters zeroed; null when nothing was recorded. */
  take(service: string): MetricsDelta | null {
    const byInstance = this.#services.get(service);
    if (byInstance === undefined) return null;
    const instances: MetricsDelta["instances"] = [];
    for (const [instance, c] of byInstance) {
      if (!c.touched) {
        byInstance.delete(instance);
        continue;
      }
      instances.push({ instance, record: this.#toRecord(c) });
      c.reset();
    }
    if (byInstance.size === 0) this.#services.delete(service);
    return instances.length === 0 ? null : { instances };
  }

  #toRecord(c: InstanceCounters): MetricsRecord {
    const r = emptyRecord();
    for (let i = 0; i < c.requests.length; i++) {
      const n = c.requests[i] ?? 0;
      if (n === 0) continue;
      const outcome = this.#outcomeNames[Math.floor(i / CLASSES)] ?? OTHER_OUTCOME;
      r.requests[requestKey(outcome, CODE_CLASSES[i % CLASSES] ?? "none")] = n;
    }
    r.retries = c.retries;
    r.failovers = c.failovers;
    r.client = { counts: Array.from(c.client), sumMs: c.clientSum };
    r.upstream = { counts: Array.from(c.upstream), sumMs: c.upstreamSum };
    return r;
  }
}
