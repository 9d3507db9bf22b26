/**
 * Great-circle distance, for proximity steering. The haversine formula on a
 * sphere of the Earth's mean radius: off by at most ~0.5 % against the
 * ellipsoid, which cannot change which of two data centres is nearer in any
 * case that matters for routing.
 */
export interface GeoPoint {
  latitude: number;
  longitude: number;
}

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;

/** A point with its trigonometry done: places are converted once per snapshot, a client once per request. */
export interface GeoRadians {
  latRad: number;
  lonRad: number;
  cosLat: number;
}

export function toRadians(p: GeoPoint): GeoRadians {
  const latRad = p.latitude * RAD;
  return { latRad, lonRad: p.longitude * RAD, cosLat: Math.cos(latRad) };
}

/**
 * The haversine of the central angle: it grows with the distance, so the
 * nearest of several places is the one with the smallest value, and comparing
 * it spares the square root and arcsine per place.
 */
export function haversine(a: GeoRadians, b: GeoRadians): number {
  const sLat = Math.sin((b.latRad - a.latRad) / 2);
  const sLon = Math.sin((b.lonRad - a.lonRad) / 2);
  // min(1, …): rounding can push it a hair past 1 for antipodal points, and asin(>1) is NaN.
  return Math.min(1, sLat * sLat + a.cosLat * b.cosLat * sLon * sLon);
}

export function greatCircleKm(a: GeoPoint, b: GeoPoint): number {
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(haversine(toRadians(a), toRadians(b))));
}

/**
 * `request.cf.latitude` / `longitude` arrive as decimal strings ("51.50740"); a
 * request without them (a test client, a Worker-to-Worker call) or with
 * anything else has no position, and proximity then prefers nothing. Only a
 * plain decimal is read: `Number` would take " " (or "") as 0, a client at
 * 0°, 0°, and "0x10" or "1e1" as numbers no position is written as.
 */
const DECIMAL = /^[+-]?\d+(?:\.\d+)?$/;

function coordinate(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v !== "string") return NaN;
  const t = v.trim();
  return DECIMAL.test(t) ? Number(t) : NaN;
}

export function pointFrom(latitude: unknown, longitude: unknown): GeoPoint | null {
  const lat = coordinate(latitude);
  const lon = coordinate(longitude);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return { latitude: lat, longitude: lon };
}
