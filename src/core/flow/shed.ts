/**
 * Load shedding by client: the operator's `shedPercent` refuses that share of
 * new requests, chosen by a stable hash of the client IP (as Cloudflare Load
 * Balancing's session-based shedding does), so a shed client stays shed and
 * the others are served normally rather than everyone failing at random. The
 * hash is salted with the service name, so the clients one service sheds are
 * not the same ones every other service sheds. Raising the percentage only
 * adds clients: one shed at 10 is still shed at 20.
 */

/** FNV-1a, 32 bits: stable across isolates and deploys, no allocation. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Where the client falls in [0, 100), in steps of 0.01. */
export function shedPoint(service: string, clientIp: string): number {
  const h = fnv1a(clientIp, fnv1a(service + "\n"));
  // A final avalanche (murmur3's fmix32): FNV's low bits alone spread neighbouring IPs poorly.
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return ((x >>> 0) % 10_000) / 100;
}

/** True when this client is in the shed share. */
export function isShed(service: string, clientIp: string, shedPercent: number): boolean {
  return shedPercent > 0 && shedPoint(service, clientIp) < shedPercent;
}
