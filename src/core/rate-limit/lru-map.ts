/**
 * A Map bounded to `max` entries, least recently written first (Map order,
 * refreshed on every write). The rate-limit stores keep per-key state in one:
 * a key's state left alone long enough is the same as no state, so dropping
 * the least recently written key only forgets a caller that has been quiet
 * (unless more than `max` distinct keys came since), and memory stays bounded
 * when callers present many distinct keys.
 */
export class LruMap<V> {
  readonly #map = new Map<string, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  /** Writes the key as the most recent, evicting the least recent while over the bound. */
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) break;
      this.#map.delete(oldest.value);
    }
  }
}
