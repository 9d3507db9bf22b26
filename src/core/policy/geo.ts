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

export function greatCircleKm(a: GeoPoint, b: GeoPoint): number {
  const dLat = (b.latitude - a.latitude) * RAD;
  const dLon = (b.longitude - a.longitude) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * RAD) * Math.cos(b.latitude * RAD) * Math.sin(dLon / 2) ** 2;
  // min(1, …): rounding can push h a hair past 1 for antipodal points, and asin(>1) is NaN.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(Math.min(1, h)));
}

/**
 * `request.cf.latitude` / `longitude` arrive as strings ("51.50740"); a
 * request without them (a test client, a Worker-to-Worker call) or with
 * anything unparsable has no position, and proximity then prefers nothing.
 */
export function pointFrom(latitude: unknown, longitude: unknown): GeoPoint | null {
  const lat = typeof latitude === "number" ? latitude : typeof latitude === "string" && latitude !== "" ? Number(latitude) : NaN;
  const lon = typeof longitude === "number" ? longitude : typeof longitude === "string" && longitude !== "" ? Number(longitude) : NaN;
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return { latitude: lat, longitude: lon };
}
