import { describe, expect, it } from "vitest";
import { classifyHostile, controlCases, hostileCases, ipv4Spellings, MARKER, type HostileCase } from "../../../scripts/chaos/model/hostile.mjs";

const cases = hostileCases();
const urlOf = (c: HostileCase): string => (JSON.parse(c.body) as { url: string }).url;

/** "[a::b]" as its eight 16-bit groups. */
function groups(bracketed: string): number[] {
  const [head = "", tail] = bracketed.slice(1, -1).split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return all.map((g) => Number.parseInt(g, 16));
}

describe("hostile registration generator", () => {
  it("yields at least 300 cases with unique ids, the same list on every call", () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    expect(hostileCases()).toEqual(cases);
  });

  it("covers every family the issue names", () => {
    const categories = new Set(cases.map((c) => c.category));
    for (const family of ["ip-notation", "ipv6", "local-name", "idn", "userinfo", "control-chars", "oversize", "prototype-key", "config"] as const) {
      expect(categories.has(family)).toBe(true);
    }
    const ids = cases.map((c) => c.id).join(" ");
    for (const needle of ["metadata", "instance-data", "kubernetes.default.svc", "__proto__", "constructor", "trailing-dot", "v4-mapped", "octal", "hex", "shortened"]) {
      expect(ids).toContain(needle);
    }
  });

  it("spells each IPv4 address so that the WHATWG parser (the one fetch uses) reads it back as that address", () => {
    for (const octets of [
      [127, 0, 0, 1],
      [10, 0, 0, 1],
      [169, 254, 169, 254],
      [100, 64, 0, 1],
      [0, 0, 0, 0],
      [255, 255, 255, 255],
    ]) {
      const dotted = octets.join(".");
      const hextets = [(octets[0] ?? 0) * 256 + (octets[1] ?? 0), (octets[2] ?? 0) * 256 + (octets[3] ?? 0)];
      for (const [notation, host] of ipv4Spellings(octets)) {
        const parsed = new URL(`http://${host}:8080/`).hostname;
        if (!host.startsWith("[")) {
          expect(parsed.replace(/\.+$/, ""), `${notation} ${host}`).toBe(dotted);
          continue;
        }
        // 6to4 embeds the address in groups 1-2; every other form in the last two.
        const g = groups(parsed);
        expect(g, `${notation} ${parsed}`).toHaveLength(8);
        expect(notation === "6to4" ? g.slice(1, 3) : g.slice(6, 8), `${notation} ${parsed}`).toEqual(hextets);
      }
    }
  });

  it("makes every ip-notation case a URL whose host is a private IPv4 address once parsed", () => {
    const ipCases = cases.filter((c) => c.category === "ip-notation" && !urlOf(c).includes("["));
    expect(ipCases.length).toBeGreaterThan(100);
    for (const c of ipCases) {
      const host = new URL(urlOf(c)).hostname.replace(/\.+$/, "");
      const [a = -1, b = -1] = host.split(".").map(Number);
      const isPrivate = a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224;
      expect(isPrivate, `${c.id} → ${host}`).toBe(true);
    }
  });

  it("only lets cases whose hostile part can be dropped be judged by read-back, each with a marker", () => {
    for (const c of cases.filter((x) => x.expect === "reject-or-inert")) {
      expect(c.marker, c.id).toBeDefined();
      expect(c.body.includes(c.marker ?? "") || c.body.includes("\\r"), c.id).toBe(true);
    }
    // CR/LF that the URL parser deletes leaves a public origin; everything else must be refused outright.
    for (const c of cases.filter((x) => x.category === "control-chars" && x.expect === "reject-or-inert")) {
      expect(new URL(urlOf(c).replace(/[\t\r\n]/g, "")).hostname).toBe("origin.example.com");
    }
  });

  it("has controls that are valid, public registrations", () => {
    for (const c of controlCases()) {
      const url = new URL(urlOf(c));
      expect(url.protocol).toMatch(/^https?:$/);
      expect(url.username + url.password + url.search).toBe("");
    }
  });
});

describe("classifyHostile", () => {
  const reject = cases.find((c) => c.expect === "reject");
  const inert = cases.find((c) => c.expect === "reject-or-inert");
  if (reject === undefined || inert === undefined) throw new Error("generator lost a kind of case");

  it("calls any 4xx a refusal and any 5xx or missing answer a failure", () => {
    expect(classifyHostile(reject, { status: 400, readback: null })).toBe("refused");
    expect(classifyHostile(reject, { status: 415, readback: null })).toBe("refused");
    expect(classifyHostile(reject, { status: 500, readback: null })).toBe("server-error");
    expect(classifyHostile(reject, { status: 503, readback: null })).toBe("server-error");
    expect(classifyHostile(reject, { status: null, readback: null })).toBe("no-answer");
  });

  it("calls a 2xx to a must-refuse case accepted, whatever was stored", () => {
    expect(classifyHostile(reject, { status: 201, readback: "{}" })).toBe("accepted");
    expect(classifyHostile(reject, { status: 200, readback: null })).toBe("accepted");
  });

  it("calls a 2xx to a droppable case neutralised only when the marker is not read back", () => {
    expect(classifyHostile(inert, { status: 201, readback: '{"url":"https://origin.example.com"}' })).toBe("neutralised");
    expect(classifyHostile(inert, { status: 201, readback: `{"metadata":{"constructor":"${inert.marker ?? MARKER}"}}` })).toBe("accepted");
    // Unread is unproven: it counts against the mesh.
    expect(classifyHostile(inert, { status: 201, readback: null })).toBe("accepted");
  });
});
