// @ts-check
// Bearer tokens for the JWT rows: one valid ES256 token (the control) and the
// bad ones an attacker or a broken client sends. Each bad token is bad for
// exactly one documented reason, so a row that names it says what slipped through.
import { createHmac, generateKeyPairSync, sign } from "node:crypto";

export const ISSUER = "https://issuer.chaos.example/";
export const AUDIENCE = "chaos-api";
export const SCOPE = "chaos.read";
const KID = "chaos-1";

/** @param {unknown} v */
const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/**
 * A fresh key pair and the tokens built from it.
 * @param {number} nowSeconds
 */
export function jwtFixtures(nowSeconds) {
  const good = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicJwk = { ...good.publicKey.export({ format: "jwk" }), kid: KID, alg: "ES256", use: "sig" };
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: "chaos", scope: SCOPE, iat: nowSeconds, exp: nowSeconds + 300 };
  /**
   * @param {Record<string, unknown>} header @param {unknown} payload
   * @param {import("node:crypto").KeyObject} [key]
   */
  const es256 = (header, payload, key = good.privateKey) => {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
  };
  const h = { alg: "ES256", typ: "JWT", kid: KID };
  const valid = es256(h, claims);
  const [vh = "", vp = "", vs = ""] = valid.split(".");
  // Flip one character in the middle of the signature: the last one may only carry padding bits.
  const mid = Math.floor(vs.length / 2);
  const flipped = `${vh}.${vp}.${vs.slice(0, mid)}${vs[mid] === "A" ? "B" : "A"}${vs.slice(mid + 1)}`;
  /** @param {string} secret */
  const hs256 = (secret) => {
    const input = `${b64({ alg: "HS256", typ: "JWT", kid: KID })}.${b64(claims)}`;
    return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
  };
  /** @type {[string, string | null][]} name, Authorization header value (null: none) */
  const bad = [
    ["no Authorization header", null],
    ["Basic scheme", "Basic Y2hhb3M6Y2hhb3M="],
    ["empty bearer", "Bearer "],
    ["not a JWT", "Bearer not-a-jwt"],
    ["two parts", `Bearer ${vh}.${vp}`],
    ["four parts", `Bearer ${valid}.x`],
    ["payload not JSON", `Bearer ${vh}.${b64("not json")}.${vs}`],
    ["alg none, no signature", `Bearer ${b64({ alg: "none", typ: "JWT" })}.${vp}.`],
    ["alg none, kid and a signature", `Bearer ${b64({ alg: "none", typ: "JWT", kid: KID })}.${vp}.${vs}`],
    ["HS256 keyed with the public JWK", `Bearer ${hs256(JSON.stringify(publicJwk))}`],
    ["HS256 keyed with the public PEM", `Bearer ${hs256(String(good.publicKey.export({ format: "pem", type: "spki" })))}`],
    ["RS256 header over an ES256 signature", `Bearer ${b64({ alg: "RS256", typ: "JWT", kid: KID })}.${vp}.${vs}`],
    ["signature flipped", `Bearer ${flipped}`],
    ["signed by another key, same kid", `Bearer ${es256(h, claims, other.privateKey)}`],
    ["unknown kid", `Bearer ${es256({ ...h, kid: "chaos-unknown" }, claims, other.privateKey)}`],
    ["expired an hour ago", `Bearer ${es256(h, { ...claims, exp: nowSeconds - 3600 })}`],
    ["not valid for an hour (nbf)", `Bearer ${es256(h, { ...claims, nbf: nowSeconds + 3600 })}`],
    ["no exp", `Bearer ${es256(h, { iss: ISSUER, aud: AUDIENCE, scope: SCOPE })}`],
    ["exp as a string", `Bearer ${es256(h, { ...claims, exp: String(nowSeconds + 300) })}`],
    ["wrong issuer", `Bearer ${es256(h, { ...claims, iss: "https://evil.example/" })}`],
    ["wrong audience", `Bearer ${es256(h, { ...claims, aud: "other-api" })}`],
    ["missing the required scope", `Bearer ${es256(h, { ...claims, scope: "chaos.write" })}`],
    ["crit header", `Bearer ${es256({ ...h, crit: ["exp"] }, claims)}`],
    ["over 8 KiB", `Bearer ${es256(h, { ...claims, pad: "p".repeat(9000) })}`],
  ];
  return { publicJwk, valid: `Bearer ${valid}`, bad };
}
