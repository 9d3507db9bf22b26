import { haversine, pointFrom, toRadians, type GeoPoint, type GeoRadians } from "./geo.js";

/**
 * Locality: which part of a priority level a request prefers.
 *
 * - proximity: the group of instances registered at the location nearest to
 *   the client (request.cf.latitude/longitude), like Cloudflare Load
 *   Balancing's proximity steering. A group that is too unhealthy is passed
 *   over for the next nearest one.
 * - zone: the instances whose `zone` equals one `request.cf` field (colo,
 *   country, continent or region), ignoring ASCII case (zoneKey below).
 *
 * A group is preferred only while its healthy share (routable and not avoided
 * by this isolate, over its active members) is at least minHealthyFraction and
 * it has a healthy member; otherwise the request spills over to the whole
 * level. Only routable instances are ever candidates, so locality can narrow
 * the choice but never adds an unhealthy instance to it.
 */
/**
 * The `request.cf` field a zone is compared with. `region` is the region's
 * name ("Texas", "England"), `regionCode` its ISO 3166-2 code ("US-TX",
 * "GB-ENG"): both are offered, since a name differs by spelling and language
 * where a code does not. cf.regionCode holds only the part after the country
 * ("TX"), and that part names regions of other countries too ("WA" is
 * Washington and Western Australia, "TN" Tennessee and Tamil Nadu), so under
 * `regionCode` the zone is compared with cf.country, "-", cf.regionCode.
 */
export type LocalityKey = "colo" | "country" | "continent" | "region" | "regionCode";

export type LocalityConfig =
  | { mode: "proximity"; minHealthyFraction: number }
  | { mode: "zone"; key: LocalityKey; minHealthyFraction: number };

/** What one request prefers, read from its `cf` object only for a service with `locality`. */
export type LocalityTarget =
  | { mode: "proximity"; point: GeoPoint; at: GeoRadians; minHealthyFraction: number }
  /** `zone` is the cf value as a match key, made once per request; it is only compared, never shown. */
  | { mode: "zone"; zone: ZoneKey; minHealthyFraction: number };

/**
 * `request.cf` as the router holds it: Cloudflare sets latitude/longitude and
 * colo, country, continent, region on every request; tests set them by hand.
 * Typed as a plain object and read field by field, since its declared type
 * differs between incoming requests and request inits.
 */
export type CfFacts = object;

const field = (cf: CfFacts, key: string): unknown => Reflect.get(cf, key);

declare const zoneKeyBrand: unique symbol;
/** A zone in the form zones are compared in. Only zoneKey makes one, so a raw zone cannot be looked up by mistake. */
export type ZoneKey = string & { readonly [zoneKeyBrand]: true };

/**
 * The form in which zones are compared: a–z upper-cased, every other code
 * unit kept. Cloudflare's cf values are upper-case ("SJC", "US", "NA") while
 * operators often register "sjc" or "us"; exact equality silently turned
 * locality off for them. Only ASCII is folded, not String#toUpperCase: full
 * Unicode case mapping changes lengths ("ß" → "SS") and maps non-ASCII letters
 * onto ASCII ones ("ı" → "I", "ſ" → "S"), so zones an operator wrote as
 * different would match. A string with no a–z is returned as it is, so the
 * per-request call on an upper-case cf value allocates nothing.
 */
export function zoneKey(zone: string): ZoneKey {
  for (let i = 0; i < zone.length; i++) {
    const c = zone.charCodeAt(i);
    // toUpperCase on a run of a–z alone maps each to A–Z, one for one.
    if (c >= 0x61 && c <= 0x7a) return zone.replace(/[a-z]+/g, (run) => run.toUpperCase()) as ZoneKey;
  }
  return zone as ZoneKey;
}

/** Null when the request does not carry the fact (no `cf`, or not that field): it then prefers nothing. */
export function localityTarget(config: LocalityConfig, cf: CfFacts | undefined): LocalityTarget | null {
  // The runtime's cf is an object or absent; anything else (a caller's own init) says nothing either.
  if (typeof cf !== "object" || cf === null) return null;
  if (config.mode === "proximity") {
    const point = pointFrom(field(cf, "latitude"), field(cf, "longitude"));
    return point === null ? null : { mode: "proximity", point, at: toRadians(point), minHealthyFraction: config.minHealthyFraction };
  }
  const zone = config.key === "regionCode" ? isoRegionCode(cf) : field(cf, config.key);
  return typeof zone === "string" && zone !== "" ? { mode: "zone", zone: zoneKey(zone), minHealthyFraction: config.minHealthyFraction } : null;
}

/** The request's region as ISO 3166-2 writes it ("US-TX"), or null when cf lacks the country or the region. */
function isoRegionCode(cf: CfFacts): string | null {
  const country = field(cf, "country");
  const region = field(cf, "regionCode");
  return typeof country === "string" && country !== "" && typeof region === "string" && region !== "" ? `${country}-${region}` : null;
}

/** A group of instances: the routable ones, and how many active members it has in all. */
export interface LocalityGroup<I> {
  instances: readonly I[];
  total: number;
}

export interface PlacedGroup<I> extends LocalityGroup<I> {
  point: GeoPoint;
  at: GeoRadians;
}

/** Healthy members of a group: its routable instances less those this isolate avoids. */
export function healthyIn<I extends { id: string }>(group: LocalityGroup<I>, avoid: ReadonlySet<string> | null): number {
  if (avoid === null) return group.instances.length;
  let n = 0;
  for (const i of group.instances) if (!avoid.has(i.id)) n++;
  return n;
}

export function qualifies<I extends { id: string }>(group: LocalityGroup<I>, avoid: ReadonlySet<string> | null, minHealthyFraction: number): boolean {
  const healthy = healthyIn(group, avoid);
  // A quotient, not fraction × total: 0.28 × 25 rounds to 7.000000000000001 and would refuse 7 of 25, while
  // 7 / 25 rounds to the same double as 0.28 (each is the nearest double to the exact value).
  return healthy > 0 && group.total > 0 && healthy / group.total >= minHealthyFraction;
}

/**
 * The group a request prefers within one level, or null to use the whole
 * level. Proximity takes the nearest group that qualifies (one pass, no
 * sorting, no allocation); zone mode takes the request's zone if it qualifies.
 */
export function preferredGroup<I extends { id: string }>(
  target: LocalityTarget,
  zones: ReadonlyMap<ZoneKey, LocalityGroup<I>>,
  places: readonly PlacedGroup<I>[],
  avoid: ReadonlySet<string> | null,
): LocalityGroup<I> | null {
  if (target.mode === "zone") {
    const group = zones.get(target.zone);
    return group !== undefined && qualifies(group, avoid, target.minHealthyFraction) ? group : null;
  }
  let best: PlacedGroup<I> | null = null;
  let bestH = Number.POSITIVE_INFINITY;
  for (const place of places) {
    const h = haversine(target.at, place.at);
    if (h >= bestH || !qualifies(place, avoid, target.minHealthyFraction)) continue;
    best = place;
    bestH = h;
  }
  return best;
}
