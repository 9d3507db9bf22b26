import { describe, expect, it } from "vitest";
import { canonicalOrigin, checkOrigin } from "../../../src/core/net/origin-guard.js";

function refusal(raw: string, allowPrivate = false): string {
  const check = checkOrigin(raw, allowPrivate);
  if (check.ok) throw new Error(`expected ${raw} to be refused`);
  return check.reason;
}

function accepted(raw: string, allowPrivate = false): URL {
  const check = checkOrigin(raw, allowPrivate);
  if (!check.ok) throw new Error(`expected ${raw} to be accepted, got: ${check.reason}`);
  return check.url;
}

describe("checkOrigin", () => {
  it.each([
    "http://127.0.0.1:8080",
    "http://127.255.0.9",
    "http://10.0.0.1",
    "http://10.255.255.255",
    "http://172.16.0.1",
    "http://172.31.255.254",
    "http://192.168.1.10",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0",
    "http://100.64.0.1",
    "http://224.0.0.1",
    "http://255.255.255.255",
  ])("refuses private or reserved IPv4 %s", (raw) => {
    expect(refusal(raw)).toMatch(/loopback or private/);
  });

  it.each([
    // The URL parser turns these into 127.0.0.1 / 0.0.0.0; the guard must see through them.
    "http://2130706433",
    "http://0x7f.0.0.1",
    "http://127.1",
    "http://0",
    "http://127.0.0.1.",
  ])("refuses loopback written in an unusual IPv4 form: %s", (raw) => {
    expect(refusal(raw)).toMatch(/loopback or private/);
  });

  it.each(["http://localhost", "http://LOCALHOST:3000", "http://app.localhost", "http://a.b.localhost", "http://printer.local", "http://db.internal", "http://metadata.google.internal"])(
    "refuses local name %s",
    (raw) => {
      expect(refusal(raw)).toMatch(/local name/);
    },
  );

  it.each(["http://localhost.", "http://app.localhost.", "http://metadata.google.internal.", "http://localhost..:8080"])(
    "refuses a local name written as a fully qualified name with a trailing dot: %s",
    (raw) => {
      expect(refusal(raw)).toMatch(/local name/);
    },
  );

  it.each([
    "http://[::1]",
    "http://[::1]:8080",
    "http://[0:0:0:0:0:0:0:1]",
    "http://[::]",
    "http://[fc00::1]",
    "http://[fd12:3456::1]",
    "http://[fe80::1]",
    "http://[febf::1]",
    "http://[ff02::1]",
    "http://[::ffff:127.0.0.1]",
    "http://[::ffff:10.0.0.1]",
    "http://[::ffff:8.8.8.8]",
    "http://[::ffff:7f00:1]",
    "http://[::127.0.0.1]",
    "http://[::7f00:1]",
    "http://[64:ff9b::a00:1]",
    "http://[2002:a00:1::]",
    "http://[fec0::1]",
  ])("refuses loopback, private, link-local, multicast and v4-mapped IPv6 %s", (raw) => {
    expect(refusal(raw)).toMatch(/loopback or private/);
  });

  it.each([
    // Teredo (RFC 4380): the last 32 bits are a client IPv4 address, inverted, that a relay forwards to,
    // the same kind of IPv4-embedding form as 6to4 and NAT64. Here 127.0.0.1 and 10.0.0.1.
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]",
    "http://[2001:0:0:0:0:ffff:f5ff:fffe]",
    "http://[2001::1]",
  ])("refuses Teredo IPv6, which embeds an IPv4 address: %s", (raw) => {
    expect(refusal(raw)).toMatch(/loopback or private/);
  });

  it.each(["http://192.0.0.1", "http://192.0.0.2", "http://192.0.0.170"])(
    "refuses the IETF protocol assignments 192.0.0.0/24 (DS-Lite's AFTR and B4, NAT64 discovery), carrier equipment like 100.64.0.0/10: %s",
    (raw) => {
      expect(refusal(raw)).toMatch(/loopback or private/);
    },
  );

  it.each(["http://[2001:4860:4860::8888]", "http://[2001:1:0:1::1]", "http://[2001:db8::1]", "http://192.0.1.1", "http://192.0.2.10"])(
    "allows the neighbours of those ranges, documentation addresses included: %s",
    (raw) => {
      expect(accepted(raw).href).toBe(new URL(raw).href);
    },
  );

  it("refuses credentials in the URL", () => {
    expect(refusal("https://user:pass@origin.example.com")).toMatch(/credentials/);
    expect(refusal("https://user@origin.example.com")).toMatch(/credentials/);
  });

  it.each(["ftp://origin.example.com", "file:///etc/passwd", "ws://origin.example.com", "javascript:alert(1)"])(
    "refuses non-http scheme %s",
    (raw) => {
      expect(refusal(raw)).toMatch(/http or https/);
    },
  );

  it("refuses query strings and fragments", () => {
    expect(refusal("https://origin.example.com/?token=1")).toMatch(/query/);
    expect(refusal("https://origin.example.com/base#x")).toMatch(/query or fragment/);
  });

  it("refuses strings that are not absolute URLs", () => {
    expect(refusal("origin.example.com")).toMatch(/valid absolute URL/);
    expect(refusal("/just/a/path")).toMatch(/valid absolute URL/);
    expect(refusal("")).toMatch(/valid absolute URL/);
  });

  it.each([
    "https://origin.example.com",
    "https://origin.example.com:8443/base/",
    "http://8.8.8.8",
    "http://172.15.0.1",
    "http://172.32.0.1",
    "http://192.169.0.1",
    "http://100.63.255.255",
    "http://[2606:4700:4700::1111]",
    "http://localhost.example.com",
    "http://origin-1.example.com.",
    "http://_srv.example.com",
  ])("allows public address or hostname %s", (raw) => {
    expect(accepted(raw).href).toBe(new URL(raw).href);
  });

  // Issue 9: every notation of a private IPv4 address, after the URL parser and the guard's own normalisation.
  it.each([
    ["decimal", "http://2130706433"],
    ["octal", "http://0177.0.0.1"],
    ["octal, one part", "http://017700000001"],
    ["hex, one part", "http://0x7f000001"],
    ["hex, dotted", "http://0x7f.0x0.0x0.0x1"],
    ["mixed hex/decimal, shortened", "http://0x7f.1"],
    ["shortened", "http://127.1"],
    ["shortened, three parts", "http://10.0.1"],
    ["zero-padded", "http://127.000.000.001"],
    ["zero-padded metadata", "http://169.254.169.254"],
    ["one trailing dot", "http://10.0.0.1."],
    ["two trailing dots", "http://127.0.0.1.."],
    ["two trailing dots, private", "http://10.0.0.1.."],
    ["three trailing dots, metadata", "http://169.254.169.254..."],
    ["trailing dots and port", "http://169.254.169.254..:80/latest"],
    ["hex with trailing dots", "http://0x7f.1.."],
    ["ideographic full stops", "http://10.0.0.1\u3002\u3002"],
    ["fullwidth digits", "http://\uff11\uff12\uff17.0.0.1"],
    ["IPv4-mapped IPv6, dotted", "http://[::ffff:127.0.0.1]"],
    ["IPv4-mapped IPv6, hex", "http://[::ffff:a9fe:a9fe]"],
    ["IPv4-mapped IPv6, uncompressed", "http://[0:0:0:0:0:ffff:7f00:1]"],
    ["IPv6 loopback, zero-padded", "http://[0000:0000:0000:0000:0000:0000:0000:0001]"],
    ["IPv6 loopback, upper case", "http://[::0:1]"],
  ])("refuses a private address in %s notation (%s)", (_notation, raw) => {
    expect(refusal(raw)).toMatch(/loopback or private/);
    // Tests and local dev register 127.0.0.1 origins; the opt-out must still let every notation through.
    expect(accepted(raw, true).protocol).toBe("http:");
  });

  it.each([
    "http://metadata",
    "http://metadata.",
    "http://METADATA..",
    "http://instance-data",
    "http://instance-data.ec2.internal",
    "http://kubernetes.default",
    "http://kubernetes.default.",
    "http://kubernetes.default.svc",
    "http://kubernetes.default.svc.cluster.local",
    "http://localhost.localdomain",
    "http://ip6-localhost",
    "http://ip6-loopback",
    "http://notlocalhost",
    "http://router.home.arpa",
    "http://nas.lan",
    "http://wiki.corp",
  ])("refuses a single-label or site-local name %s", (raw) => {
    expect(refusal(raw)).toMatch(/local name/);
  });

  it.each(["http://a..b.com", "http://.example.com", "http://a\"b.example.com", "http://a..b.com.."])(
    "refuses a host with empty labels or characters DNS cannot carry: %s",
    (raw) => {
      expect(refusal(raw)).toMatch(/not a valid hostname/);
      expect(refusal(raw, true)).toMatch(/not a valid hostname/);
    },
  );

  it("allowPrivate lets loopback and private origins through for local dev", () => {
    expect(accepted("http://127.0.0.1:8787", true).port).toBe("8787");
    expect(accepted("http://localhost:3000", true).hostname).toBe("localhost");
    expect(accepted("http://[::1]:9000", true).hostname).toBe("[::1]");
    expect(accepted("http://10.1.2.3", true).hostname).toBe("10.1.2.3");
  });

  it("allowPrivate still refuses credentials, other schemes and query strings", () => {
    expect(refusal("http://u:p@127.0.0.1", true)).toMatch(/credentials/);
    expect(refusal("ftp://127.0.0.1", true)).toMatch(/http or https/);
    expect(refusal("http://127.0.0.1/?a=1", true)).toMatch(/query/);
  });
});

describe("canonicalOrigin", () => {
  it.each([
    ["HTTPS://Origin.Example.COM/", "https://origin.example.com"],
    ["https://origin.example.com:443/", "https://origin.example.com"],
    ["http://origin.example.com:80", "http://origin.example.com"],
    ["http://origin.example.com:8080/", "http://origin.example.com:8080"],
    ["https://origin.example.com/base/", "https://origin.example.com/base"],
    ["https://origin.example.com/base//", "https://origin.example.com/base"],
    ["https://origin.example.com/Base", "https://origin.example.com/Base"],
    ["http://[::1]:8080/", "http://[::1]:8080"],
  ])("%s -> %s", (raw, expected) => {
    expect(canonicalOrigin(new URL(raw))).toBe(expected);
  });

  it("gives the same form for equivalent spellings, so re-registration is idempotent", () => {
    const forms = ["https://Origin.example.com", "https://origin.example.com:443/", "HTTPS://ORIGIN.EXAMPLE.COM/"];
    expect(new Set(forms.map((f) => canonicalOrigin(new URL(f))))).toEqual(new Set(["https://origin.example.com"]));
  });
});
