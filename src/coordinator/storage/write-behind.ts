/**
 * How long the coordinator's statistics may sit in memory before they reach
 * SQLite: the instances' passive counters (requests, failures, latency) and
 * the metrics records. Routers report about once a second each, so a busy
 * service hears from hundreds of isolates a second; writing each report's
 * rows as it came made SQLite rows written the largest item of the monthly
 * bill (docs/scale.md, *Monthly cost*). Coalesced, each row is written at
 * most once per this period, whatever the report rate (plus the alarm's
 * own flush, service-coordinator.ts, at most once per alarm).
 */
export const STATS_FLUSH_MS = 1_000;

/**
 * A trailing-edge timer for writes that may lag memory: `due()` after a
 * change arms one flush within `delayMs` unless one is armed already.
 * Everything a flush writes is already in memory, where every read is
 * served from, so the lag is visible only after a restart: an object evicted
 * or reset between a change and its flush loses that much of the
 * statistics. Membership, health, leases and config never go through here;
 * they are written at once (docs/storage.md, *Writes that wait*).
 */
export class WriteBehind {
  readonly #delayMs: number;
  readonly #flush: () => void;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(delayMs: number, flush: () => void) {
    this.#delayMs = delayMs;
    this.#flush = flush;
  }

  due(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => this.flushNow(), this.#delayMs);
  }

  /** Writes what waits now (also called by the alarm, so a health round's end leaves nothing behind). */
  flushNow(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#flush();
  }
}
