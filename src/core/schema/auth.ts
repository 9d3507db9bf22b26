import * as z from "./zod.js";

/**
 * Config for the security features (docs/security.md): the optional
 * serviceConfigSchema fields `auth`, `upstreamAuth`, `signing` and `mtls`.
 * Secrets are never part of a config (configs live in KV): a config names a
 * Worker secret (`*Ref`) and the Worker reads it from `env` at request time.
 */

const int = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));
const withDefault = <T extends z.ZodMiniType>(schema: T, value: z.core.util.NoUndefined<z.output<T>>) =>
  z._default(schema, () => structuredClone(value));
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/** The name of a Worker secret or var: what `wrangler secret put NAME` accepts and `env.NAME` reads. */
export const SECRET_REF = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/**
 * The mesh's own bindings (wrangler.toml, `MESH_ADMIN_TOKEN`, the optional
 * `MESH_METRICS_TOKEN`). A config must not name them: `clientSecretRef:
 * "MESH_ADMIN_TOKEN"` would send the admin token to whatever `tokenUrl` says.
 * A unit test checks this list against the generated Env.
 */
export const MESH_OWN_BINDINGS: readonly string[] = [
  "MESH_ADMIN_TOKEN", "MESH_METRICS_TOKEN", "REGISTRY", "SERVICES", "ROUTES", "RATE_LIMITER",
  "ALLOW_PRIVATE_ORIGINS", "REQUEST_LOG", "REQUEST_LOG_SAMPLE", "METRICS", "CONTROL_PLANE_RATE_LIMITS", "SNAPSHOT_SHARING", "STRICT_LEASES",
];
export const secretRefSchema = z
  .string()
  .check(
    z.regex(SECRET_REF, "must be the name of a Worker secret (letters, digits and '_', not starting with a digit)"),
    z.refine((ref: string) => !MESH_OWN_BINDINGS.includes(ref), "must not name one of the mesh's own bindings"),
  );

/** Token endpoints and JWKS URLs; http:// passes the PUT check only with ALLOW_PRIVATE_ORIGINS (security/wiring/config-check.ts). */
const httpUrlSchema = z
  .string()
  .check(
    z.maxLength(2048),
    z.refine((u: string) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http(s) URL"),
  );

// RFC 6749 §3.3: scope tokens are printable ASCII without space, '"' or '\'.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const scopeTokenSchema = z.string().check(z.regex(SCOPE_TOKEN, "must be a scope token (printable ASCII, no spaces)"));
const scopeListSchema = z
  .string()
  .check(
    z.maxLength(1024),
    z.refine((s: string) => s.split(" ").every((t) => SCOPE_TOKEN.test(t)), "must be scope tokens separated by single spaces"),
  );

// Headers the mesh or HTTP itself owns: a claims header must not be able to overwrite them.
const RESERVED_HEADERS = new Set([
  "authorization", "host", "content-length", "content-type", "transfer-encoding", "connection", "cookie",
  "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-mesh-signature", "x-mesh-content-sha256",
]);
const headerNameSchema = z
  .string()
  .check(
    z.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be an HTTP header name of at most 64 characters"),
    z.refine((h: string) => !RESERVED_HEADERS.has(h.toLowerCase()), "must not be a header HTTP or the mesh already uses"),
  );

const b64u = (max: number) => z.string().check(z.maxLength(max), z.regex(/^[A-Za-z0-9_-]+$/, "must be base64url"));

/**
 * One public JWK. Not strict: JWKS documents carry members the mesh ignores
 * (x5c, x5t, key_ops); those are stripped. A private member is refused, since
 * an inline JWKS is stored in KV and a private key must never be.
 */
const jwkSchema = z
  .object({
    kty: z.enum(["RSA", "EC", "OKP"]),
    kid: z.optional(text(256)),
    alg: z.optional(z.enum(["RS256", "ES256", "EdDSA", "Ed25519"])),
    use: z.optional(z.literal("sig")),
    n: z.optional(b64u(1024)),
    e: z.optional(b64u(16)),
    crv: z.optional(z.enum(["P-256", "Ed25519"])),
    x: z.optional(b64u(64)),
    y: z.optional(b64u(64)),
    d: z.optional(z.never("a JWKS in config must hold public keys only")),
    p: z.optional(z.never("a JWKS in config must hold public keys only")),
    q: z.optional(z.never("a JWKS in config must hold public keys only")),
    k: z.optional(z.never("a JWKS in config must hold public keys only")),
  })
  .check(
    z.refine(
      (k) => (k.kty === "RSA" ? k.n !== undefined && k.e !== undefined : k.x !== undefined && k.crv !== undefined),
      "an RSA key needs n and e; an EC or OKP key needs crv and x",
    ),
  );

export const jwtSchema = z
  .strictObject({
    issuer: text(512),
    audiences: z.array(text(512)).check(z.minLength(1), z.maxLength(20)),
    jwksUrl: z.optional(httpUrlSchema),
    jwks: z.optional(z.strictObject({ keys: z.array(jwkSchema).check(z.minLength(1), z.maxLength(20)) })),
    requiredScopes: withDefault(z.array(scopeTokenSchema).check(z.maxLength(50)), []),
    forwardClaimsHeader: z.optional(headerNameSchema),
    // RFC 7519 §4.1.4 allows "a small leeway"; 300 s bounds how long an expired token stays usable.
    clockSkewSeconds: withDefault(int(0, 300), 60),
    jwksCacheSeconds: withDefault(int(60, 86_400), 300),
  })
  .check(
    z.refine((j) => (j.jwksUrl === undefined) !== (j.jwks === undefined), {
      message: "exactly one of jwksUrl or jwks is required",
      path: ["jwksUrl"],
    }),
  );

export const authSchema = z.strictObject({ jwt: jwtSchema });

export const upstreamAuthSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("oauth2_client_credentials"),
    tokenUrl: httpUrlSchema,
    clientId: text(256),
    clientSecretRef: secretRefSchema,
    scope: z.optional(scopeListSchema),
  }),
]);

/**
 * The largest body the data plane buffers (RETRY_BODY_CAP_BYTES in
 * src/edge/admit/admit.ts; a worker test checks the two agree). Signing digests
 * the buffered body, so a larger limit could never take effect.
 */
export const MAX_SIGNED_BODY_BYTES = 1024 * 1024;

export const signingSchema = z.strictObject({
  secretRef: secretRefSchema,
  // Larger (or unsized, or streamed) bodies are sent as UNSIGNED-PAYLOAD; 0 signs no body at all.
  maxSignedBodyBytes: withDefault(int(0, MAX_SIGNED_BODY_BYTES), MAX_SIGNED_BODY_BYTES),
});

/**
 * Client-certificate (mTLS) calls to origins: names an `[[mtls_certificates]]`
 * binding from wrangler.toml; the data plane then sends upstream requests with
 * `env[binding].fetch(...)` instead of the global fetch. The certificate and key
 * stay in Cloudflare's certificate store, never in config.
 */
export const mtlsSchema = z.strictObject({ certificateBinding: secretRefSchema });

export type AuthConfig = z.output<typeof authSchema>;
export type JwtConfig = z.output<typeof jwtSchema>;
export type UpstreamAuthConfig = z.output<typeof upstreamAuthSchema>;
export type SigningConfig = z.output<typeof signingSchema>;
export type MtlsConfig = z.output<typeof mtlsSchema>;
