import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { greatCircleKm, pointFrom, toRadians } from "../../../src/core/policy/geo.js";
import { localityTarget, qualifies, zoneKey, type LocalityTarget } from "../../../src/core/policy/locality.js";
import { buildPolicyIndex, choosePool } from "../../../src/core/policy/priority-pools.js";
import { snapshotOf, specOf, type MemberSpec } from "./pool-fixtures.js";

const LONDON = { latitude: 51.5074, longitude: -0.1278 };
const NEW_YORK = { latitude: 40.7128, longitude: -74.006 };
const SYDNEY = { latitude: -33.8688, longitude: 151.2093 };

const proximity = (point: { latitude: number; longitude: number }, minHealthyFraction = 0.5): LocalityTarget => ({
  mode: "proximity",
  point,
  at: toRadians(point),
  minHealthyFraction,
});

function poolSpecs(specs: MemberSpec[], target: LocalityTarget | null): number[] {
  const pool = choosePool(buildPolicyIndex(snapshotOf(specs)), target, null, 0.5) ?? [];
  return [...new Set(pool.map((i) => specOf(i.id)))].sort();
}

describe("greatCircleKm", () => {
  it("London to New York is about 5,570 km, and symmetric", () => {
    expect(greatCircleKm(LONDON, NEW_YORK)).toBeGreaterThan(5_540);
    expect(greatCircleKm(LONDON, NEW_YORK)).toBeLessThan(5_600);
    expect(greatCircleKm(NEW_YORK, LONDON)).toBeCloseTo(greatCircleKm(LONDON, NEW_YORK), 6);
  });

  it("is 0 for one point and half the Earth's circumference for antipodes", () => {
    expect(greatCircleKm(SYDNEY, SYDNEY)).toBe(0);
    expect(greatCircleKm({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 180 })).toBeCloseTo(Math.PI * 6371.0088, 3);
  });
});

describe("localityTarget (what request.cf says)", () => {
  it("reads cf latitude/longitude strings for proximity, and nothing from a request without them", () => {
    expect(localityTarget({ mode: "proximity", minHealthyFraction: 0.5 }, { latitude: "51.5", longitude: "-0.12" })).toEqual(proximity({ latitude: 51.5, longitude: -0.12 }));
    expect(localityTarget({ mode: "proximity", minHealthyFraction: 0.5 }, undefined)).toBeNull();
    expect(localityTarget({ mode: "proximity", minHealthyFraction: 0.5 }, { colo: "LHR" })).toBeNull();
    expect(pointFrom("91", "0")).toBeNull();
    expect(pointFrom("north", "0")).toBeNull();
  });

  it("takes no position from a blank, hex, exponent or otherwise non-decimal string, nor from a cf that is not an object", () => {
    // Number(" ") is 0: a blank pair once read as a client at 0°, 0° (off West Africa) and steered it there.
    for (const [lat, lon] of [[" ", " "], ["", "0"], ["0x10", "10"], ["1e1", "10"], ["10", "Infinity"], ["+", "1"], ["10.", ".5"]]) {
      expect(pointFrom(lat, lon), `${String(lat)}, ${String(lon)}`).toBeNull();
    }
    expect(pointFrom(" 51.5", "-0.12 ")).toEqual({ latitude: 51.5, longitude: -0.12 });
    expect(pointFrom("-33.86880", "+151.2093")).toEqual({ latitude: -33.8688, longitude: 151.2093 });
    expect(pointFrom(51.5, -0.12)).toEqual({ latitude: 51.5, longitude: -0.12 });
    const cfless = null as unknown as object;
    expect(localityTarget({ mode: "proximity", minHealthyFraction: 0.5 }, cfless)).toBeNull();
    expect(localityTarget({ mode: "zone", key: "colo", minHealthyFraction: 0.5 }, cfless)).toBeNull();
  });

  it("reads the configured cf field for zone mode", () => {
    const config = { mode: "zone", key: "colo", minHealthyFraction: 0.5 } as const;
    expect(localityTarget(config, { colo: "LHR", country: "GB" })).toEqual({ mode: "zone", zone: "LHR", minHealthyFraction: 0.5 });
    expect(localityTarget({ ...config, key: "continent" }, { colo: "LHR" })).toBeNull();
  });

  it("reads a region by its name under region and by its ISO 3166-2 code under regionCode", () => {
    const cf = { country: "US", region: "Texas", regionCode: "TX" };
    expect(localityTarget({ mode: "zone", key: "region", minHealthyFraction: 0.5 }, cf)).toMatchObject({ zone: "TEXAS" });
    expect(localityTarget({ mode: "zone", key: "regionCode", minHealthyFraction: 0.5 }, cf)).toMatchObject({ zone: "US-TX" });
  });

  it("takes a region code with its country: \"WA\" is Washington in the US and Western Australia in AU", () => {
    const regionCode = { mode: "zone", key: "regionCode", minHealthyFraction: 0.5 } as const;
    const specs: MemberSpec[] = [{ zone: "US-WA", healthy: 2 }, { zone: "AU-WA", healthy: 2 }];
    expect(poolSpecs(specs, localityTarget(regionCode, { country: "US", regionCode: "WA" }))).toEqual([0]);
    expect(poolSpecs(specs, localityTarget(regionCode, { country: "AU", regionCode: "WA" }))).toEqual([1]);
    // Without its country a code names no one region.
    expect(localityTarget(regionCode, { regionCode: "WA" })).toBeNull();
  });
});

describe("proximity", () => {
  const specs: MemberSpec[] = [
    { location: NEW_YORK, healthy: 2 },
    { location: LONDON, healthy: 2 },
    { location: SYDNEY, healthy: 2 },
  ];

  it("prefers the instances nearest the client", () => {
    expect(poolSpecs(specs, proximity({ latitude: 48.85, longitude: 2.35 }))).toEqual([1]); // Paris → London
    expect(poolSpecs(specs, proximity({ latitude: 37.77, longitude: -122.42 }))).toEqual([0]); // San Francisco → New York
    expect(poolSpecs(specs, proximity({ latitude: -37.81, longitude: 144.96 }))).toEqual([2]); // Melbourne → Sydney
  });

  it("passes over a group below minHealthyFraction for the next nearest", () => {
    const sick: MemberSpec[] = [{ location: NEW_YORK, healthy: 2 }, { location: LONDON, healthy: 1, unhealthy: 2 }];
    expect(poolSpecs(sick, proximity({ latitude: 48.85, longitude: 2.35 }))).toEqual([0]);
    expect(poolSpecs(sick, proximity({ latitude: 48.85, longitude: 2.35 }, 0.3))).toEqual([1]);
  });

  it("spills to the whole level when no group qualifies, and instances without a location only ever get spill-over", () => {
    const none: MemberSpec[] = [{ location: LONDON, healthy: 1, unhealthy: 3 }, { location: null, healthy: 2 }];
    expect(poolSpecs(none, proximity(LONDON))).toEqual([0, 1]);
  });
});

describe("zone", () => {
  const target = (zone: string, minHealthyFraction = 0.5): LocalityTarget => ({ mode: "zone", zone: zoneKey(zone), minHealthyFraction });
  const specs: MemberSpec[] = [{ zone: "weur", healthy: 2 }, { zone: "enam", healthy: 1, unhealthy: 2 }, { zone: null, healthy: 1 }];

  it("prefers the request's zone while it is healthy enough", () => {
    expect(poolSpecs(specs, target("weur"))).toEqual([0]);
  });

  it("spills to the whole level below minHealthyFraction, or for a zone with no instance", () => {
    expect(poolSpecs(specs, target("enam"))).toEqual([0, 1, 2]);
    expect(poolSpecs(specs, target("enam", 0.3))).toEqual([1]);
    expect(poolSpecs(specs, target("apac"))).toEqual([0, 1, 2]);
  });
});

describe("zone matching ignores ASCII case", () => {
  const colo = { mode: "zone", key: "colo", minHealthyFraction: 0.5 } as const;
  const fromCf = (value: string, minHealthyFraction = 0.5) => localityTarget({ ...colo, minHealthyFraction }, { colo: value });

  it("zoneKey upper-cases a–z and nothing else", () => {
    expect(zoneKey("sjc")).toBe("SJC");
    expect(zoneKey("eu-West-1")).toBe("EU-WEST-1");
    expect(zoneKey("SJC")).toBe("SJC");
    // Full Unicode upper-casing would give "STRASSE", "PIT", "SFO" and "KÉ": each would then match another zone.
    expect(zoneKey("straße")).toBe("STRAßE");
    expect(zoneKey("pıt")).toBe("PıT");
    expect(zoneKey("ſfo")).toBe("ſFO");
    expect(zoneKey("ké")).toBe("Ké");
  });

  it("the request's cf value is made a key once, when the target is read", () => {
    expect(fromCf("sjc")).toEqual({ mode: "zone", zone: "SJC", minHealthyFraction: 0.5 });
  });

  it("an instance registered as \"sjc\" takes requests whose cf.colo is \"SJC\", and keeps its own spelling", () => {
    const specs: MemberSpec[] = [{ zone: "sjc", healthy: 2 }, { zone: "LHR", healthy: 1 }, { zone: null, healthy: 1 }];
    const index = buildPolicyIndex(snapshotOf(specs));
    const pool = choosePool(index, fromCf("SJC"), null, 0.5) ?? [];
    expect(pool.map((i) => specOf(i.id))).toEqual([0, 0]);
    expect(pool.map((i) => i.zone)).toEqual(["sjc", "sjc"]);
    // Either side may be the lower-case one.
    expect(poolSpecs(specs, fromCf("lhr"))).toEqual([1]);
    expect(poolSpecs(specs, fromCf("Sjc"))).toEqual([0]);
  });

  it("registrations that differ only in ASCII case are one group: their members add up against minHealthyFraction", () => {
    // 1 healthy of 4 once both spellings are one group; "SJC" alone would have no routable member at all.
    const specs: MemberSpec[] = [{ zone: "sjc", healthy: 1, unhealthy: 1 }, { zone: "SJC", healthy: 0, unhealthy: 2 }, { zone: null, healthy: 1 }];
    expect(poolSpecs(specs, fromCf("SJC", 0.25))).toEqual([0]);
    expect(poolSpecs(specs, fromCf("SJC", 0.3))).toEqual([0, 2]);
  });

  it("non-ASCII letters are compared as they are", () => {
    const specs: MemberSpec[] = [{ zone: "straße", healthy: 1 }, { zone: "pıt", healthy: 1 }, { zone: null, healthy: 1 }];
    expect(poolSpecs(specs, fromCf("STRASSE"))).toEqual([0, 1, 2]);
    expect(poolSpecs(specs, fromCf("PIT"))).toEqual([0, 1, 2]);
    expect(poolSpecs(specs, fromCf("STRAßE"))).toEqual([0]);
    expect(poolSpecs(specs, fromCf("PıT"))).toEqual([1]);
  });
});

/** Toggles the case of the ASCII letters at the positions `flips` marks (cyclically), and of nothing else. */
function flipAsciiCase(s: string, flips: readonly boolean[]): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    out += String.fromCharCode(letter && flips.length > 0 && flips[i % flips.length] === true ? c ^ 0x20 : c);
  }
  return out;
}

/** The reference: same length, and each code unit equal or the same ASCII letter in the other case. */
function sameIgnoringAsciiCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  for (let i = 0; i < a.length; i++) if (lower(a.charCodeAt(i)) !== lower(b.charCodeAt(i))) return false;
  return true;
}

describe("zone matching properties", () => {
  // Letters whose full Unicode case mapping lands on ASCII or changes length (ı, İ, ſ, ß, the Kelvin sign, ﬀ),
  // next to the ASCII letters they would be confused with, so near misses are common.
  const tricky = fc.constantFrom("a", "A", "s", "S", "i", "I", "k", "K", "f", "F", "ı", "İ", "ſ", "ß", "\u212A", "ﬀ", "é", "É", "-", "1");
  const zoneArb = fc.oneof(fc.string({ unit: tricky, minLength: 1, maxLength: 6 }), fc.string({ unit: "binary", minLength: 1, maxLength: 6 }));
  const flipsArb = fc.array(fc.boolean(), { maxLength: 6 });
  const config = { mode: "zone", key: "colo", minHealthyFraction: 0.5 } as const;
  /** The specs a request lands on: [0] when it matches the instance registered as `registered`, [0, 1] when it spills over. */
  const landsOn = (registered: string, cfValue: string) =>
    poolSpecs([{ zone: registered, healthy: 1 }, { zone: null, healthy: 1 }], localityTarget(config, { colo: cfValue }));

  it("matching is unchanged by ASCII case changes on either side", () => {
    fc.assert(
      fc.property(zoneArb, flipsArb, flipsArb, (zone, onInstance, onRequest) => {
        const registered = flipAsciiCase(zone, onInstance);
        const requested = flipAsciiCase(zone, onRequest);
        expect(zoneKey(registered)).toBe(zoneKey(requested));
        expect(landsOn(registered, requested)).toEqual([0]);
      }),
    );
  });

  it("zones that differ other than in ASCII case never match", () => {
    const pairArb = zoneArb.chain((a) =>
      fc.tuple(
        fc.constant(a),
        fc.oneof(
          zoneArb,
          // A near miss: a case variant of `a` with one code unit swapped for a tricky one.
          fc.tuple(flipsArb, fc.nat(), tricky).map(([flips, at, c]) => {
            const b = flipAsciiCase(a, flips);
            const i = at % b.length;
            return b.slice(0, i) + c + b.slice(i + 1);
          }),
        ),
      ),
    );
    fc.assert(
      fc.property(pairArb, ([registered, requested]) => {
        fc.pre(!sameIgnoringAsciiCase(registered, requested));
        expect(zoneKey(registered)).not.toBe(zoneKey(requested));
        expect(landsOn(registered, requested)).toEqual([0, 1]);
      }),
    );
  });
});

describe("properties", () => {
  const pointArb = fc.record({
    latitude: fc.double({ min: -90, max: 90, noNaN: true }),
    longitude: fc.double({ min: -180, max: 180, noNaN: true }),
  });
  const groupArb = fc.record({
    location: pointArb,
    healthy: fc.integer({ min: 0, max: 4 }),
    unhealthy: fc.integer({ min: 0, max: 4 }),
  });

  it("a group whose healthy share is exactly minHealthyFraction qualifies, and one member fewer does not", () => {
    // 7 of 25 healthy against 0.28: 0.28 × 25 is 7.000000000000001 in doubles, which once failed "at least".
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 40 }), (percent, k) => {
        const total = 100 * k;
        const healthy = percent * k;
        const instances = Array.from({ length: healthy }, (_, n) => ({ id: `i${n}` }));
        expect(qualifies({ instances, total }, null, percent / 100)).toBe(true);
        if (healthy > 1) expect(qualifies({ instances: instances.slice(1), total }, null, percent / 100)).toBe(false);
      }),
    );
    expect(qualifies({ instances: Array.from({ length: 7 }, (_, n) => ({ id: `i${n}` })), total: 25 }, null, 0.28)).toBe(true);
  });

  it("proximity takes the nearest group whose healthy share ≥ minHealthyFraction, else the whole level; never an unhealthy instance", () => {
    fc.assert(
      fc.property(fc.array(groupArb, { minLength: 1, maxLength: 6 }), pointArb, fc.double({ min: 0, max: 1, noNaN: true }), (groups, client, fraction) => {
        fc.pre(groups.some((g) => g.healthy + g.unhealthy > 0));
        // One group per place: groups at the same place add up, which the per-group reference below does not model.
        fc.pre(new Set(groups.map((g) => `${g.location.latitude},${g.location.longitude}`)).size === groups.length);
        const snap = snapshotOf(groups);
        const pool = choosePool(buildPolicyIndex(snap), proximity(client, fraction), null, 0.5) ?? [];
        const routable = new Set(snap.instances.map((i) => i.id));
        for (const i of pool) expect(routable.has(i.id)).toBe(true);
        // The reference answer, by sorting every qualifying group by distance (several groups may share one place).
        const qualifying = groups
          .map((g, k) => ({ k, g, km: greatCircleKm(client, g.location) }))
          .filter(({ g }) => g.healthy > 0 && g.healthy >= fraction * (g.healthy + g.unhealthy));
        const placeOf = (p: { latitude: number; longitude: number }) => `${p.latitude},${p.longitude}`;
        if (qualifying.length === 0) {
          expect(pool.map((i) => i.id).sort()).toEqual([...routable].sort());
          return;
        }
        const nearestKm = Math.min(...qualifying.map((q) => q.km));
        // Every instance in the pool sits at one place, at the nearest qualifying distance.
        const places = new Set(pool.map((i) => (i.location === undefined ? "none" : placeOf(i.location))));
        expect(places.size).toBe(1);
        for (const i of pool) expect(greatCircleKm(client, i.location ?? client)).toBeCloseTo(nearestKm, 6);
        expect(pool.length).toBeGreaterThan(0);
      }),
    );
  });
});
