import type { MetricsDelta } from "../../core/metrics/accumulator.js";
import type { CoordinatorCounters } from "../../core/metrics/prometheus.js";
import { emptyRecord, mergeRecord, NO_INSTANCE, parseRecord, type MetricsRecord } from "../../core/metrics/record.js";
import { minuteOf, RETAINED_MINUTES } from "../../core/metrics/stats.js";
import { metricsDeltaSchema } from "./delta-schema.js";

const COUNTER_NAMES: readonly (keyof CoordinatorCounters)[] = [
  "healthChecksPassed",
  "healthChecksFailed",
  "ejections",
  "leaseExpirations",
  "retiredRetries",
  "retiredFailovers",
];

/**
 * The service's metrics, in memory and written behind to SQLite
 * (metrics_totals, metrics_minutes, metrics_counters; docs/storage.md):
 * running totals per instance, one record per instance and minute for the
 * last hour, and the counts the coordinator makes itself. Router deltas are
 * folded into memory as they arrive and their records written by `flush`,
 * at most once per STATS_FLUSH_MS whatever the report rate
 * (storage/write-behind.ts), so a restart or eviction loses what routers had
 * not sent yet plus at most that last second. The coordinator's own counts
 * are rare and written at once. Loaded on first use, not in the constructor,
 * so an object that is only asked for snapshots never reads these tables.
 */
export class MetricsStore {
  readonly #sql: SqlStorage;
  #loaded = false;
  readonly #totals = new Map<string, MetricsRecord>();
  readonly #minutes = new Map<number, Map<string, MetricsRecord>>();
  readonly #counters: CoordinatorCounters = {
    healthChecksPassed: 0,
    healthChecksFailed: 0,
    ejections: 0,
    leaseExpirations: 0,
    retiredRetries: 0,
    retiredFailovers: 0,
  };
  #prunedMinute = 0;
  /** Records changed in memory since the last flush: totals by instance, minutes by minute then instance. */
  readonly #totalsWaiting = new Set<string>();
  readonly #minutesWaiting = new Map<number, Set<string>>();

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    for (const row of this.#sql.exec<{ instance: string; record: string }>("SELECT instance, record FROM metrics_totals")) {
      const r = parseStored(row.record);
      if (r !== null) this.#totals.set(row.instance, r);
    }
    for (const row of this.#sql.exec<{ minute: number; instance: string; record: string }>("SELECT minute, instance, record FROM metrics_minutes")) {
      const r = parseStored(row.record);
      if (r !== null) this.#minute(row.minute).set(row.instance, r);
    }
    for (const row of this.#sql.exec<{ name: string; value: number }>("SELECT name, value FROM metrics_counters")) {
      const name = COUNTER_NAMES.find((n) => n === row.name);
      if (name !== undefined) this.#counters[name] = row.value;
    }
  }

  #minute(m: number): Map<string, MetricsRecord> {
    let byInstance = this.#minutes.get(m);
    if (byInstance === undefined) {
      byInstance = new Map();
      this.#minutes.set(m, byInstance);
    }
    return byInstance;
  }

  /**
   * Folds one router's delta in. Records for instances that are no longer
   * members are dropped, as passive reports are (and it bounds the tables by
   * the membership); a malformed delta is dropped whole and logged.
   */
  apply(delta: unknown, now: number, isMember: (id: string) => boolean): void {
    const parsed = metricsDeltaSchema.safeParse(delta);
    if (!parsed.success) {
      console.error(JSON.stringify({ event: "metrics_delta_rejected", message: parsed.error.issues[0]?.message ?? "invalid" }));
      return;
    }
    this.#load();
    const minute = minuteOf(now);
    const byInstance = this.#minute(minute);
    for (const { instance, record } of (parsed.data satisfies MetricsDelta).instances) {
      if (instance !== NO_INSTANCE && !isMember(instance)) continue;
      const total = mergeRecord(this.#totals.get(instance) ?? emptyRecord(), record);
      this.#totals.set(instance, total);
      const perMinute = mergeRecord(byInstance.get(instance) ?? emptyRecord(), record);
      byInstance.set(instance, perMinute);
      this.#totalsWaiting.add(instance);
      let waiting = this.#minutesWaiting.get(minute);
      if (waiting === undefined) this.#minutesWaiting.set(minute, (waiting = new Set()));
      waiting.add(instance);
    }
    this.prune(now, isMember);
  }

  /** Writes the records changed since the last flush, each once, as memory holds them now. */
  flush(): void {
    for (const instance of this.#totalsWaiting) {
      const total = this.#totals.get(instance);
      if (total !== undefined) this.#sql.exec("INSERT OR REPLACE INTO metrics_totals (instance, record) VALUES (?, ?)", instance, JSON.stringify(total));
    }
    this.#totalsWaiting.clear();
    for (const [minute, instances] of this.#minutesWaiting) {
      const byInstance = this.#minutes.get(minute);
      if (byInstance === undefined) continue;
      for (const instance of instances) {
        const record = byInstance.get(instance);
        if (record !== undefined) this.#sql.exec("INSERT OR REPLACE INTO metrics_minutes (minute, instance, record) VALUES (?, ?, ?)", minute, instance, JSON.stringify(record));
      }
    }
    this.#minutesWaiting.clear();
  }

  /**
   * At most once a minute: minutes past the retained hour go, and so do the totals of instances no
   * longer members. A pruned instance's retries and failovers move to the retired counters (in the
   * same synchronous turn, so SQLite commits both or neither): the service-wide sums stay monotonic.
   * Run by every delta and by every scrape: a service whose traffic stopped sends no delta, and its
   * departed instances' series would otherwise stay in the scrape until traffic came back.
   */
  prune(now: number, isMember: (id: string) => boolean): void {
    this.#load();
    const minute = minuteOf(now);
    if (minute === this.#prunedMinute) return;
    this.#prunedMinute = minute;
    const oldest = minute - RETAINED_MINUTES;
    for (const m of this.#minutes.keys()) if (m < oldest) this.#minutes.delete(m);
    for (const m of this.#minutesWaiting.keys()) if (m < oldest) this.#minutesWaiting.delete(m);
    this.#sql.exec("DELETE FROM metrics_minutes WHERE minute < ?", oldest);
    for (const [id, total] of this.#totals) {
      if (id === NO_INSTANCE || isMember(id)) continue;
      this.count("retiredRetries", total.retries);
      this.count("retiredFailovers", total.failovers);
      this.#totals.delete(id);
      this.#totalsWaiting.delete(id);
      this.#sql.exec("DELETE FROM metrics_totals WHERE instance = ?", id);
    }
  }

  count(name: keyof CoordinatorCounters, n = 1): void {
    if (n <= 0) return;
    this.#load();
    this.#counters[name] += n;
    this.#sql.exec(
      "INSERT INTO metrics_counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
      name,
      n,
    );
  }

  counters(): CoordinatorCounters {
    this.#load();
    return { ...this.#counters };
  }

  totals(): { instance: string; record: MetricsRecord }[] {
    this.#load();
    return [...this.#totals].map(([instance, record]) => ({ instance, record }));
  }

  minutes(): ReadonlyMap<number, ReadonlyMap<string, MetricsRecord>> {
    this.#load();
    return this.#minutes;
  }

  /** The service was deleted: its metrics go with it (a service created again under the name starts from zero). */
  clear(): void {
    this.#sql.exec("DELETE FROM metrics_totals; DELETE FROM metrics_minutes; DELETE FROM metrics_counters");
    this.#totals.clear();
    this.#minutes.clear();
    this.#totalsWaiting.clear();
    this.#minutesWaiting.clear();
    for (const name of COUNTER_NAMES) this.#counters[name] = 0;
    this.#loaded = true;
  }
}

function parseStored(text: string): MetricsRecord | null {
  try {
    return parseRecord(JSON.parse(text));
  } catch {
    return null;
  }
}
