/**
 * A seeded pseudo-random source for tests (xorshift32): the same seed gives
 * the same sequence, so a random balancer's picks are reproducible. Returns
 * floats in [0, 1) like Math.random.
 */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}
