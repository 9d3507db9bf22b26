import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RATE_LIMITS, MAX_CONFIGURED_LIMIT, parseRateLimits } from "../../../src/core/rate-limit/settings.js";

const DEFAULTS = { enabled: true, limits: DEFAULT_RATE_LIMITS };

describe("parseRateLimits (CONTROL_PLANE_RATE_LIMITS)", () => {
  it("keeps today's limits when unset or empty, without a warning", () => {
    expect(DEFAULT_RATE_LIMITS).toEqual({
      admin: { perSecond: 20, burst: 40 },
      registrationToken: { perSecond: 200, burst: 1000 },
      clientIp: { perSecond: 10, burst: 20 },
    });
    for (const raw of [undefined, "", "   ", ","]) expect(parseRateLimits(raw)).toEqual({ settings: DEFAULTS, warning: null });
  });

  it("sets every class, with fractional rates and spaces around the parts", () => {
    expect(parseRateLimits(" admin = 0.5 / 3 , token=5000/20000,IP=100/200 ")).toEqual({
      settings: {
        enabled: true,
        limits: { admin: { perSecond: 0.5, burst: 3 }, registrationToken: { perSecond: 5000, burst: 20000 }, clientIp: { perSecond: 100, burst: 200 } },
      },
      warning: null,
    });
  });

  it("leaves a class that is not listed at its default", () => {
    expect(parseRateLimits("admin=1/1")).toEqual({
      settings: { enabled: true, limits: { ...DEFAULT_RATE_LIMITS, admin: { perSecond: 1, burst: 1 } } },
      warning: null,
    });
  });

  it("turns the limiter off only for the word off", () => {
    for (const raw of ["off", " OFF ", "Off"]) expect(parseRateLimits(raw)).toEqual({ settings: { enabled: false }, warning: null });
  });

  it.each([
    ["none", "is not class=perSecond/burst"],
    ["0", "is not class=perSecond/burst"],
    ["false", "is not class=perSecond/burst"],
    ["unlimited", "is not class=perSecond/burst"],
    ["off,admin=1/1", "is not class=perSecond/burst"],
    ["admin=20", "is not class=perSecond/burst"],
    ["admin=20/40/60", "is not class=perSecond/burst"],
    ["admin=-1/40", "is not class=perSecond/burst"],
    ["admin=Infinity/40", "is not class=perSecond/burst"],
    ["admin=1e3/40", "is not class=perSecond/burst"],
    ["admin=20/4.5", "is not class=perSecond/burst"],
    ["admin=20/40;token=1/1", "is not class=perSecond/burst"],
    ["root=20/40", `"root" is not one of admin, token, ip`],
    ["constructor=20/40", `"constructor" is not one of admin, token, ip`],
    ["admin=0/40", "admin: perSecond must be over 0"],
    ["token=0.0/40", "token: perSecond must be over 0"],
    ["ip=10/0", "ip: burst must be 1 to"],
    [`admin=${MAX_CONFIGURED_LIMIT + 1}/40`, "admin: perSecond must be over 0 and at most"],
    [`admin=20/${MAX_CONFIGURED_LIMIT + 1}`, "admin: burst must be 1 to"],
    ["admin=1/1,admin=2/2", `"admin=2/2" sets a class twice`],
  ])("refuses %j as a whole: every class at its default, and a warning saying why", (raw, why) => {
    const { settings, warning } = parseRateLimits(`token=9999/9999,${raw}`);
    expect(settings).toEqual(DEFAULTS);
    expect(warning).toContain("CONTROL_PLANE_RATE_LIMITS ignored, defaults apply");
    expect(warning).toContain(why);
  });

  it("keeps the defaults with a warning for a var that is not a string (an unquoted [vars] value)", () => {
    // wrangler passes a TOML number, boolean or table through as that JSON value, whatever the generated Env says.
    for (const raw of [0, 5, false, true, null, { admin: "1/1" }, ["off"]]) {
      const parsed = parseRateLimits(raw);
      expect(parsed.settings).toEqual(DEFAULTS);
      expect(parsed.warning).toMatch(/CONTROL_PLANE_RATE_LIMITS ignored/);
    }
  });

  it("property: never throws, and only the word off turns the limiter off", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string()), (raw) => {
        const { settings } = parseRateLimits(raw);
        return settings.enabled || (typeof raw === "string" && raw.trim().toLowerCase() === "off");
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts the bounds themselves", () => {
    const raw = `admin=${MAX_CONFIGURED_LIMIT}/${MAX_CONFIGURED_LIMIT},ip=0.001/1`;
    const { settings, warning } = parseRateLimits(raw);
    expect(warning).toBeNull();
    expect(settings).toEqual({
      enabled: true,
      limits: { ...DEFAULT_RATE_LIMITS, admin: { perSecond: MAX_CONFIGURED_LIMIT, burst: MAX_CONFIGURED_LIMIT }, clientIp: { perSecond: 0.001, burst: 1 } },
    });
  });

  it("is what wrangler.toml ships: its value spells out exactly the defaults", () => {
    const toml = readFileSync(new URL("../../../wrangler.toml", import.meta.url), "utf8");
    const line = /^CONTROL_PLANE_RATE_LIMITS = "([^"]*)"$/m.exec(toml);
    expect(line, "wrangler.toml [vars] sets CONTROL_PLANE_RATE_LIMITS").not.toBeNull();
    expect(parseRateLimits(line?.[1])).toEqual({ settings: DEFAULTS, warning: null });
  });
});
