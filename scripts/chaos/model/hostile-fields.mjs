// @ts-check
// Hostile field values and service configs for the generator in hostile.mjs:
// sizes past each documented limit, wrong types, prototype keys, and configs
// that would turn the mesh's own probes or token/JWKS fetches into SSRF.

/** A marker carried by every hostile value that may be silently dropped: if it ever shows up in a read-back, it was stored. */
export const MARKER = "chaos-marker-7f3a";

/** The route every hostile service config carries, so only the named field is at fault. */
const ROUTES = { pathPrefixes: ["/chaos-cfg"] };

/**
 * @param {string} id @param {import("./hostile.mjs").HostileCategory} category @param {unknown} body
 * @returns {import("./hostile.mjs").HostileCase}
 */
export const instance = (id, category, body) => ({ id, category, target: "instance", body: JSON.stringify(body), expect: "reject" });

/** @returns {import("./hostile.mjs").HostileCase[]} */
export function fieldCases() {
  const ok = "https://origin.example.com";
  /** @param {number} n */
  const pairs = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
  /** @type {import("./hostile.mjs").HostileCase[]} */
  const out = [
    instance("size/url-927", "oversize", { url: `${ok}/${"a".repeat(927 - ok.length - 1)}` }),
    instance("size/url-4k", "oversize", { url: `${ok}/${"a".repeat(4096)}` }),
    instance("size/url-100k", "oversize", { url: `${ok}/${"a".repeat(100_000)}` }),
    instance("size/url-encoded-growth", "oversize", { url: `${ok}/${"é".repeat(300)}` }),
    instance("size/zone-65", "oversize", { url: ok, zone: "z".repeat(65) }),
    instance("size/zone-empty", "oversize", { url: ok, zone: "" }),
    instance("size/zone-multibyte", "oversize", { url: ok, zone: "é".repeat(40) }),
    instance("size/metadata-17-pairs", "oversize", { url: ok, metadata: pairs(17) }),
    instance("size/metadata-key-65", "oversize", { url: ok, metadata: { ["k".repeat(65)]: "v" } }),
    instance("size/metadata-value-257", "oversize", { url: ok, metadata: { k: "v".repeat(257) } }),
    instance("size/metadata-1000-pairs", "oversize", { url: ok, metadata: pairs(1000) }),
    instance("size/weight-0", "oversize", { url: ok, weight: 0 }),
    instance("size/weight-1001", "oversize", { url: ok, weight: 1001 }),
    instance("size/weight-negative", "oversize", { url: ok, weight: -5 }),
    instance("size/weight-fraction", "oversize", { url: ok, weight: 1.5 }),
    instance("size/weight-huge", "oversize", { url: ok, weight: 1e308 }),
    instance("size/ttl-4", "oversize", { url: ok, ttlSeconds: 4 }),
    instance("size/ttl-86401", "oversize", { url: ok, ttlSeconds: 86_401 }),
    instance("type/url-number", "type-confusion", { url: 2130706433 }),
    instance("type/url-array", "type-confusion", { url: ["http://127.0.0.1"] }),
    instance("type/url-object", "type-confusion", { url: { href: "http://127.0.0.1" } }),
    instance("type/url-null", "type-confusion", { url: null }),
    instance("type/weight-string", "type-confusion", { url: ok, weight: "1" }),
    instance("type/metadata-nested", "type-confusion", { url: ok, metadata: { k: { deep: "v" } } }),
    instance("type/metadata-array", "type-confusion", { url: ok, metadata: ["a", "b"] }),
    instance("type/body-array", "type-confusion", [{ url: ok }]),
    instance("type/body-string", "type-confusion", "http://127.0.0.1"),
  ];
  out.push({ id: "type/not-json", category: "type-confusion", target: "instance", body: "{url: http://127.0.0.1", expect: "reject" });
  out.push({ id: "type/deep-nesting", category: "type-confusion", target: "instance", body: `${"[".repeat(20_000)}${"]".repeat(20_000)}`, expect: "reject" });
  out.push({ id: "type/wrong-content-type", category: "type-confusion", target: "instance", body: JSON.stringify({ url: ok }), contentType: "text/plain", expect: "reject" });
  // Prototype keys: dropping them is as safe as refusing them, as long as nothing of them is stored.
  /** @param {string} id @param {string} body @returns {import("./hostile.mjs").HostileCase} */
  const proto = (id, body) => ({ id, category: "prototype-key", target: "instance", body, expect: "reject-or-inert", marker: MARKER });
  for (const key of ["__proto__", "constructor", "prototype"]) {
    out.push(proto(`proto/instance-top/${key}`, `{"url":"${ok}/${key}","${key}":{"polluted":"${MARKER}"}}`));
    out.push(proto(`proto/metadata-key/${key}`, `{"url":"${ok}/m-${key}","metadata":{"${key}":"${MARKER}"}}`));
    out.push(proto(`proto/metadata-nested/${key}`, `{"url":"${ok}/n-${key}","metadata":{"${key}":{"polluted":"${MARKER}"}}}`));
  }
  out.push(proto("proto/constructor-prototype", `{"url":"${ok}/cp","constructor":{"prototype":{"polluted":"${MARKER}"}}}`));
  return out;
}

/** @returns {import("./hostile.mjs").HostileCase[]} */
export function configCases() {
  /** @param {string} id @param {import("./hostile.mjs").HostileCategory} category @param {Record<string, unknown>} body @param {string} [service] @returns {import("./hostile.mjs").HostileCase} */
  const svc = (id, category, body, service) => ({ id, category, target: "service", ...(service === undefined ? {} : { service }), body: JSON.stringify(body), expect: "reject" });
  /** @type {import("./hostile.mjs").HostileCase[]} */
  const out = [
    svc("cfg/host-tld-wildcard", "config", { routes: { hosts: ["*.com"] } }),
    svc("cfg/host-bare-wildcard", "config", { routes: { hosts: ["*"] } }),
    svc("cfg/host-empty-label", "config", { routes: { hosts: ["a..b.example.com"] } }),
    svc("cfg/host-crlf", "control-chars", { routes: { hosts: ["api.example.com\r\nx-injected: 1"] } }),
    svc("cfg/host-space", "control-chars", { routes: { hosts: ["api example.com"] } }),
    svc("cfg/host-254", "oversize", { routes: { hosts: [`${"a".repeat(60)}.`.repeat(4) + "example.com"] } }),
    svc("cfg/host-label-64", "oversize", { routes: { hosts: [`${"a".repeat(64)}.example.com`] } }),
    svc("cfg/hosts-101", "oversize", { routes: { hosts: Array.from({ length: 101 }, (_, i) => `h${i}.example.com`) } }),
    svc("cfg/prefix-mesh", "config", { routes: { pathPrefixes: ["/_mesh"] } }),
    svc("cfg/prefix-mesh-sub", "config", { routes: { pathPrefixes: ["/_mesh/v1"] } }),
    svc("cfg/prefix-1025", "oversize", { routes: { pathPrefixes: [`/${"p".repeat(1024)}`] } }),
    svc("cfg/prefixes-101", "oversize", { routes: { pathPrefixes: Array.from({ length: 101 }, (_, i) => `/p${i}`) } }),
    svc("cfg/no-routes", "config", { routes: {} }),
    svc("cfg/probe-path-userinfo", "config", { routes: ROUTES, healthCheck: { path: "@127.0.0.1/healthz" } }),
    svc("cfg/probe-path-port", "config", { routes: ROUTES, healthCheck: { path: ":22/" } }),
    svc("cfg/probe-path-host-suffix", "config", { routes: ROUTES, healthCheck: { path: ".127.0.0.1.nip.io/" } }),
    svc("cfg/probe-path-absolute", "config", { routes: ROUTES, healthCheck: { path: "http://169.254.169.254/" } }),
    svc("cfg/probe-path-crlf", "control-chars", { routes: ROUTES, healthCheck: { path: "/healthz\r\nHost: 127.0.0.1" } }),
    svc("cfg/probe-path-1025", "oversize", { routes: ROUTES, healthCheck: { path: `/${"h".repeat(1024)}` } }),
    svc("cfg/probe-interval-0", "config", { routes: ROUTES, healthCheck: { intervalSeconds: 0 } }),
    svc("cfg/probe-timeout-over-interval", "config", { routes: ROUTES, healthCheck: { intervalSeconds: 1, timeoutMs: 5000 } }),
    svc("cfg/statuses-51", "oversize", { routes: ROUTES, healthCheck: { expectedStatuses: Array.from({ length: 51 }, (_, i) => 200 + i) } }),
    svc("cfg/status-600", "config", { routes: ROUTES, healthCheck: { expectedStatuses: [600] } }),
    svc("cfg/retry-0", "config", { routes: ROUTES, retry: { attempts: 0 } }),
    svc("cfg/retry-1e9", "oversize", { routes: ROUTES, retry: { attempts: 1e9 } }),
    svc("cfg/retry-timeout-negative", "config", { routes: ROUTES, retry: { perTryTimeoutMs: -1 } }),
    svc("cfg/request-timeout-0", "config", { routes: ROUTES, retry: { requestTimeoutMs: 0 } }),
    svc("cfg/request-timeout-string", "type-confusion", { routes: ROUTES, retry: { requestTimeoutMs: "2500" } }),
    svc("cfg/retry-on-21", "oversize", { routes: ROUTES, retry: { retryOn: Array.from({ length: 21 }, () => "503") } }),
    svc("cfg/retry-on-unknown", "config", { routes: ROUTES, retry: { retryOn: ["everything"] } }),
    svc("cfg/lease-0", "config", { routes: ROUTES, lease: { ttlSeconds: 0 } }),
    svc("cfg/balancer-unknown", "config", { routes: ROUTES, balancer: "__proto__" }),
    svc("cfg/routing-unknown", "config", { routes: ROUTES, routing: { mode: "constructor" } }),
    svc("cfg/routes-string", "type-confusion", { routes: "/x" }),
    svc("cfg/name-proto", "prototype-key", { routes: ROUTES }, "__proto__"),
    svc("cfg/name-uppercase", "config", { routes: ROUTES }, "Chaos"),
    svc("cfg/name-64", "oversize", { routes: ROUTES }, "n".repeat(64)),
    svc("cfg/name-dash-end", "config", { routes: ROUTES }, "chaos-"),
    svc("cfg/name-encoded-slash", "config", { routes: ROUTES }, "a%2Fb"),
    svc("cfg/name-dotdot", "config", { routes: ROUTES }, ".."),
  ];
  /** @param {string} id @param {import("./hostile.mjs").HostileCategory} category @param {string} body @returns {import("./hostile.mjs").HostileCase} */
  const inert = (id, category, body) => ({ id, category, target: "service", body, expect: "reject-or-inert", marker: MARKER });
  const routes = JSON.stringify(ROUTES);
  for (const key of ["__proto__", "constructor", "prototype"]) {
    out.push(inert(`proto/config-top/${key}`, "prototype-key", `{"routes":${routes},"${key}":{"polluted":"${MARKER}"}}`));
    out.push(inert(`proto/config-routes/${key}`, "prototype-key", `{"routes":{"pathPrefixes":["/chaos-cfg"],"${key}":{"polluted":"${MARKER}"}}}`));
    out.push(inert(`proto/config-retry/${key}`, "prototype-key", `{"routes":${routes},"retry":{"${key}":{"attempts":"${MARKER}"}}}`));
  }
  // Security endpoints the mesh itself fetches: private targets are SSRF whether or not this build reads the field.
  const meta = `http://169.254.169.254/${MARKER}`;
  out.push(inert("ssrf/jwks-metadata", "config", JSON.stringify({ routes: ROUTES, auth: { jwt: { issuer: "https://issuer.example.com/", audiences: ["a"], jwksUrl: meta } } })));
  out.push(inert("ssrf/token-url-loopback", "config", JSON.stringify({ routes: ROUTES, upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: `http://127.0.0.1:1/${MARKER}`, clientId: "c", clientSecretRef: "S" } })));
  out.push(inert("secret/inline-signing-secret", "config", JSON.stringify({ routes: ROUTES, signing: { secretRef: "S", secret: MARKER } })));
  return out;
}

