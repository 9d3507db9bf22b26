// @ts-check
// The hostile-registration generator: every case is something a registration
// token holder (or an admin with a typo) could send, and every one must be
// refused, or, where refusing is not the only safe answer (unknown keys such as
// `__proto__`), leave no trace in what the mesh stores. Pure and deterministic:
// the same list, in the same order, on every run, so a row in
// docs/reliability.md can be traced back to the exact input.

/** A marker carried by every hostile value that may be silently dropped: if it ever shows up in a read-back, it was stored. */
export const MARKER = "chaos-marker-7f3a";

/** Addresses an origin URL must never reach, by what they are. */
/** @type {[string, number[]][]} */
const PRIVATE_V4 = [
  ["loopback", [127, 0, 0, 1]],
  ["loopback-high", [127, 255, 255, 254]],
  ["private-10", [10, 0, 0, 1]],
  ["private-172", [172, 16, 0, 1]],
  ["private-192", [192, 168, 1, 1]],
  ["metadata", [169, 254, 169, 254]],
  ["this-network", [0, 0, 0, 0]],
  ["cgnat", [100, 64, 0, 1]],
  ["multicast", [224, 0, 0, 1]],
  ["broadcast", [255, 255, 255, 255]],
];

/** @param {number[]} o */
const toInt = (o) => o.reduce((n, b) => n * 256 + b, 0);
/** @param {number} n */
const hex = (n) => `0x${n.toString(16)}`;
/** @param {number} n */
const oct = (n) => `0${n.toString(8)}`;
/** @param {number[]} o */
const v6tail = (o) => `${((o[0] ?? 0) * 256 + (o[1] ?? 0)).toString(16)}:${((o[2] ?? 0) * 256 + (o[3] ?? 0)).toString(16)}`;

/**
 * Every spelling of one IPv4 address that a URL parser may turn back into it.
 * @param {number[]} o four octets
 * @returns {[string, string][]} [notation, host]
 */
export function ipv4Spellings(o) {
  const [a = 0, b = 0, c = 0, d = 0] = o;
  const n = toInt(o);
  return [
    ["dotted", `${a}.${b}.${c}.${d}`],
    ["decimal", String(n)],
    ["hex", hex(n)],
    ["hex-dotted", o.map(hex).join(".")],
    ["octal-dotted", o.map(oct).join(".")],
    ["octal", oct(n)],
    ["shortened-a.bcd", `${a}.${b * 65536 + c * 256 + d}`],
    ["shortened-a.b.cd", `${a}.${b}.${c * 256 + d}`],
    // A leading zero makes an octet octal (010 is 8), so padding is only faithful in octal.
    ["zero-padded-octal", o.map((x) => `0${x.toString(8).padStart(4, "0")}`).join(".")],
    ["mixed", `${hex(a)}.${oct(b)}.${c}.${d}`],
    ["trailing-dot", `${a}.${b}.${c}.${d}.`],
    ["trailing-dots", `${a}.${b}.${c}.${d}...`],
    ["v4-mapped", `[::ffff:${a}.${b}.${c}.${d}]`],
    ["v4-mapped-hex", `[::ffff:${v6tail(o)}]`],
    ["v4-mapped-long", `[0:0:0:0:0:ffff:${v6tail(o)}]`],
    ["v4-compatible", `[::${a}.${b}.${c}.${d}]`],
    ["nat64", `[64:ff9b::${v6tail(o)}]`],
    ["6to4", `[2002:${v6tail(o)}::1]`],
  ];
}

const PRIVATE_V6 = ["[::1]", "[0:0:0:0:0:0:0:1]", "[::]", "[fe80::1]", "[fc00::1]", "[fd12:3456::1]", "[ff02::1]", "[::1%25eth0]"];

/** Names that resolve only inside a network (cloud metadata, cluster DNS, mDNS, search lists). */
const LOCAL_NAMES = [
  "localhost",
  "LOCALHOST",
  "app.localhost",
  "ip6-localhost",
  "metadata",
  "metadata.google.internal",
  "instance-data",
  "instance-data.ec2.internal",
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
  "db.internal",
  "printer.local",
  "router.lan",
  "nas.home.arpa",
  "box.localdomain",
  "wiki.intranet",
  "git.corp",
  "cam.home",
  "vault.private",
];

/** Unicode and percent spellings that a WHATWG parser maps onto a local name or address (IDNA mapping, full stops). */
/** @type {[string, string][]} */
const IDN_HOSTS = [
  ["fullwidth-localhost", "ｌｏｃａｌｈｏｓｔ"],
  ["fullwidth-digits", "１２７.０.０.１"],
  ["ideographic-stops", "127。0。0。1"],
  ["halfwidth-stops", "169｡254｡169｡254"],
  ["circled-letter", "ⓛocalhost"],
  ["metadata-stops", "metadata。google。internal"],
  ["percent-host", "loc%61lhost"],
  ["percent-dots", "127%2e0%2e0%2e1"],
  ["soft-hyphen", "local\u00adhost"],
  ["mathematical-l", "\u{1d5c5}ocalhost"],
  ["uppercase-dotless", "LOCALHOST。"],
  ["kelvin-k", "\u212aubernetes.default.svc"],
];

/** @type {[string, string][]} */
const USERINFO = [
  ["user-pass", "http://user:pass@origin.example.com"],
  ["user-only", "http://user@origin.example.com"],
  ["public-at-loopback", "http://origin.example.com@127.0.0.1"],
  ["public-at-metadata", "http://origin.example.com:80@169.254.169.254"],
  ["encoded-at", "http://origin.example.com%40127.0.0.1"],
  ["password-only", "https://:secret@origin.example.com"],
];

/** @type {[string, string][]} */
const CONTROL_CHARS = [
  ["crlf-path", "http://origin.example.com/\r\nHost: 127.0.0.1"],
  ["crlf-host", "http://origin.exa\r\nmple.com"],
  ["lf-host", "http://origin.example.com\n.127.0.0.1"],
  ["nul-host", "http://origin.example.com\u0000.127.0.0.1"],
  ["tab-host", "http://local\thost"],
  ["space-host", "http://origin example.com"],
  ["encoded-crlf-host", "http://origin.example.com%0d%0a"],
  ["crlf-header-injection", "http://origin.example.com/x HTTP/1.1\r\nX-Injected: 1\r\n\r\n"],
];

/** @type {[string, string][]} */
const SCHEMES = [
  ["file", "file:///etc/passwd"],
  ["ftp", "ftp://origin.example.com"],
  ["gopher", "gopher://origin.example.com:70/_x"],
  ["javascript", "javascript:alert(1)"],
  ["data", "data:text/plain,hello"],
  ["ws", "ws://origin.example.com"],
  ["empty-host", "http://"],
  ["scheme-relative", "//origin.example.com"],
  ["relative", "/just/a/path"],
  ["query", "https://origin.example.com/?next=http://127.0.0.1"],
  ["port-overflow", "http://origin.example.com:65536"],
  ["empty-label", "http://a..b.example.com"],
];

/**
 * @typedef {"ip-notation" | "ipv6" | "local-name" | "idn" | "userinfo" | "control-chars" | "scheme"
 *   | "oversize" | "prototype-key" | "type-confusion" | "config"} HostileCategory
 * @typedef {"reject" | "reject-or-inert"} HostileExpectation
 * @typedef {{ id: string, category: HostileCategory, target: "instance" | "service",
 *   service?: string, body: string, contentType?: string, expect: HostileExpectation,
 *   marker?: string }} HostileCase
 */

/**
 * @param {string} id @param {HostileCategory} category @param {unknown} body
 * @returns {HostileCase}
 */
const instance = (id, category, body) => ({ id, category, target: "instance", body: JSON.stringify(body), expect: "reject" });

/** The route every hostile service config carries, so only the named field is at fault. */
const ROUTES = { pathPrefixes: ["/chaos-cfg"] };

/** @param {string} url */
function publicHost(url) {
  try {
    return new URL(url).hostname === "origin.example.com";
  } catch {
    return false;
  }
}

/** @returns {HostileCase[]} */
function urlCases() {
  /** @type {HostileCase[]} */
  const out = [];
  for (const [what, octets] of PRIVATE_V4) {
    for (const [notation, host] of ipv4Spellings(octets)) {
      out.push(instance(`ip/${what}/${notation}`, "ip-notation", { url: `http://${host}:8080` }));
    }
  }
  for (const host of PRIVATE_V6) out.push(instance(`ipv6/${host}`, "ipv6", { url: `http://${host}:8080` }));
  for (const name of LOCAL_NAMES) {
    out.push(instance(`name/${name}`, "local-name", { url: `http://${name}` }));
    out.push(instance(`name/${name}./trailing-dot`, "local-name", { url: `http://${name}.:8080` }));
    out.push(instance(`name/${name}/https-path`, "local-name", { url: `https://${name}/latest/meta-data/` }));
  }
  for (const [what, host] of IDN_HOSTS) out.push(instance(`idn/${what}`, "idn", { url: `http://${host}/` }));
  for (const [what, url] of USERINFO) out.push(instance(`userinfo/${what}`, "userinfo", { url }));
  // `http://:@host` parses to `http://host/`: dropping the empty credentials is as good as refusing them.
  out.push({ ...instance("userinfo/empty-userinfo", "userinfo", { url: "http://:@origin.example.com/empty-userinfo" }), expect: "reject-or-inert", marker: ":@" });
  for (const [what, url] of CONTROL_CHARS) {
    // The URL parser deletes tab, CR and LF anywhere in a URL: when what is left is a public origin,
    // storing it is harmless as long as no CR/LF is stored with it.
    const inert = /[\r\n\t]/.test(url) && publicHost(url.replace(/[\t\r\n]/g, ""));
    const c = instance(`ctl/${what}`, "control-chars", { url });
    out.push(inert ? { ...c, expect: "reject-or-inert", marker: "\\r" } : c);
  }
  for (const [what, url] of SCHEMES) out.push(instance(`scheme/${what}`, "scheme", { url }));
  return out;
}

/** @returns {HostileCase[]} */
function fieldCases() {
  const ok = "https://origin.example.com";
  /** @param {number} n */
  const pairs = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
  /** @type {HostileCase[]} */
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
  /** @param {string} id @param {string} body @returns {HostileCase} */
  const proto = (id, body) => ({ id, category: "prototype-key", target: "instance", body, expect: "reject-or-inert", marker: MARKER });
  for (const key of ["__proto__", "constructor", "prototype"]) {
    out.push(proto(`proto/instance-top/${key}`, `{"url":"${ok}/${key}","${key}":{"polluted":"${MARKER}"}}`));
    out.push(proto(`proto/metadata-key/${key}`, `{"url":"${ok}/m-${key}","metadata":{"${key}":"${MARKER}"}}`));
    out.push(proto(`proto/metadata-nested/${key}`, `{"url":"${ok}/n-${key}","metadata":{"${key}":{"polluted":"${MARKER}"}}}`));
  }
  out.push(proto("proto/constructor-prototype", `{"url":"${ok}/cp","constructor":{"prototype":{"polluted":"${MARKER}"}}}`));
  return out;
}

/** @returns {HostileCase[]} */
function configCases() {
  /** @param {string} id @param {HostileCategory} category @param {Record<string, unknown>} body @param {string} [service] @returns {HostileCase} */
  const svc = (id, category, body, service) => ({ id, category, target: "service", ...(service === undefined ? {} : { service }), body: JSON.stringify(body), expect: "reject" });
  /** @type {HostileCase[]} */
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
  /** @param {string} id @param {HostileCategory} category @param {string} body @returns {HostileCase} */
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

/**
 * Every hostile case, in a fixed order, with unique ids.
 * @returns {HostileCase[]}
 */
export function hostileCases() {
  return [...urlCases(), ...fieldCases(), ...configCases()];
}

/**
 * Registrations the mesh must accept: if these are refused, the harness cannot
 * tell a guard from a wall, so the run reports it.
 * @returns {HostileCase[]}
 */
export function controlCases() {
  const ok = "https://origin.example.com";
  /** @param {string} id @param {unknown} body @returns {HostileCase} */
  const c = (id, body) => ({ id, category: "config", target: "instance", body: JSON.stringify(body), expect: "reject" });
  return [
    c("control/public-name", { url: `${ok}/a` }),
    c("control/documentation-ip", { url: "http://203.0.113.10:8080" }),
    c("control/longest-url", { url: `${ok}/${"a".repeat(926 - ok.length - 1)}` }),
    c("control/all-fields", { url: `${ok}/b`, weight: 1000, zone: "z".repeat(64), metadata: { version: "1.4.2" }, ttlSeconds: 30 }),
    c("control/idn-public", { url: "http://bücher.example.com/" }),
  ];
}

/**
 * @typedef {"refused" | "neutralised" | "accepted" | "server-error" | "no-answer"} HostileOutcome
 */

/**
 * What one answer means. `readback` is the JSON text the mesh gave back for the
 * stored object after a 2xx (null when it was not read): a reject-or-inert case
 * is neutralised only if its marker is nowhere in it.
 * @param {HostileCase} c
 * @param {{ status: number | null, readback: string | null }} seen
 * @returns {HostileOutcome}
 */
export function classifyHostile(c, { status, readback }) {
  if (status === null) return "no-answer";
  if (status >= 500) return "server-error";
  if (status < 200 || status >= 300) return "refused";
  if (c.expect === "reject") return "accepted";
  const marker = c.marker ?? MARKER;
  if (readback === null || readback.includes(marker)) return "accepted";
  return "neutralised";
}
