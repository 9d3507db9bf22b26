import { LruMap } from "./lru-map.js";

/**
 * The isolate's memory of global-scope keys that are over their limit, as
 * Unkey's limiter keeps one: "over until T" per key, where T comes from the
 * limiter object's own answer (its retry-after, or the next token's time when
 * it admitted the last one). Until T every isolate would be refused by the
 * object anyway, so refusing locally keeps exactness and costs no RPC.
 * Pure: time comes in as `now` (ms). Bounded like GcraStore; an entry past
 * its T is dead and is dropped when read.
 */
export const MAX_DENY_KEYS = 10_000;

export class DenyCache {
  readonly #until: LruMap<number>;

  constructor(maxKeys = MAX_DENY_KEYS) {
    this.#until = new LruMap(maxKeys);
  }

  get size(): number {
    return this.#until.size;
  }

  /** Ms until the key may be asked about again; 0 when it is not known to be over. */
  overFor(key: string, now: number): number {
    const until = this.#until.get(key);
    if (until === undefined) return 0;
    if (until > now) return until - now;
    this.#until.delete(key);
    return 0;
  }

  /** Remembers the key as over for `ms` from `now` (a later T replaces an earlier one). */
  markOver(key: string, ms: number, now: number): void {
    if (!(ms > 0)) return;
    this.#until.set(key, now + ms);
  }
}
