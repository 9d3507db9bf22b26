/**
 * 32-bit hashing for the hash kinds: FNV-1a over the string's UTF-16 code
 * units, finished with MurmurHash3's fmix32 so that keys differing in one
 * character land far apart on the ring. Not cryptographic: a client that
 * chooses its key can choose its host, which is the point of hashing on it.
 */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** The `n`th derived hash of a base hash: fmix32 is a bijection, so distinct (base + n·φ) give distinct outputs. */
export function derivedHash(base: number, n: number): number {
  return fmix32((base + Math.imul(n + 1, 0x9e3779b9)) >>> 0);
}
