// @ts-check
import { configCases, fieldCases, instance, MARKER } from "./hostile-fields.mjs";
// The hostile-registration generator: every case is something a registration
// token holder (or an admin with a typo) could send, and every one must be
// refused, or, where refusing is not the only safe answer (unknown keys such as
// `__proto__`), leave no trace in what the mesh stores. Pure and deterministic:
// the same list, in the same order, on every run, so a row in
// docs/reliability.md can be traced back to the exact input.

export { MARKER } from "./hostile-fields.mjs";

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
