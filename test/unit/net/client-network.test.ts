import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clientNetwork } from "../../../src/core/net/client-network.js";

/** Independent of the parser: the /64 written from the groups themselves. */
const network = (groups: readonly number[]): string => `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
const full = (groups: readonly number[]): string => groups.map((g) => g.toString(16).padStart(4, "0")).join(":");
/** The URL parser's canonical spelling (RFC 5952: the longest run of zero groups as "::"), a second, independent writer. */
const canonical = (groups: readonly number[]): string => new URL(`http://[${full(groups)}]/`).hostname.slice(1, -1);

const group = fc.integer({ min: 0, max: 0xffff });
// Zero groups often, so "::" shows up in the canonical spellings.
const sparseGroup = fc.oneof(fc.constant(0), group);
const address = fc.array(sparseGroup, { minLength: 8, maxLength: 8 }).filter((g) => !(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff));

describe("clientNetwork", () => {
  it("keeps an IPv4 address, and any text that is not an address, as it came", () => {
    for (const ip of ["198.51.100.7", "203.0.113.255", "", "unknown", "not:an:address", "1:2:3:4:5:6:7:8:9", "::1::", "12345::", "fe80::1%eth0", "::ffff:300.1.1.1", "1.2.3.4::", "ffff:1.2.3.4::1", "::ffff:01.2.3.4"]) {
      expect(clientNetwork(ip)).toBe(ip);
    }
  });

  it("counts an IPv6 client by its /64, in one canonical spelling", () => {
    expect(clientNetwork("2001:db8:0:1::7")).toBe("2001:db8:0:1::/64");
    expect(clientNetwork("2001:0DB8:0000:0001:ffff:ffff:ffff:ffff")).toBe("2001:db8:0:1::/64");
    expect(clientNetwork("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientNetwork("::")).toBe("0:0:0:0::/64");
    expect(clientNetwork("::1")).toBe("0:0:0:0::/64");
    expect(clientNetwork("2001:db8:0:2::7")).not.toBe(clientNetwork("2001:db8:0:1::7"));
  });

  it("keys an IPv4-mapped IPv6 address as the IPv4 client it is, in either spelling", () => {
    expect(clientNetwork("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(clientNetwork("::FFFF:c000:0201")).toBe("192.0.2.1");
    expect(clientNetwork("0:0:0:0:0:ffff:192.0.2.1")).toBe("192.0.2.1");
  });

  it("gives every spelling of an address its network, and addresses of one /64 one key (property)", () => {
    fc.assert(
      fc.property(address, fc.array(group, { minLength: 4, maxLength: 4 }), (groups, otherHost) => {
        const key = network(groups);
        expect(clientNetwork(full(groups))).toBe(key);
        expect(clientNetwork(full(groups).toUpperCase())).toBe(key);
        expect(clientNetwork(canonical(groups))).toBe(key);
        const neighbour = [...groups.slice(0, 4), ...otherHost];
        if (!(neighbour.slice(0, 5).every((x) => x === 0) && neighbour[5] === 0xffff)) expect(clientNetwork(canonical(neighbour))).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it("gives addresses of different /64s different keys (property)", () => {
    fc.assert(
      fc.property(address, address, (a, b) => {
        fc.pre(network(a) !== network(b));
        expect(clientNetwork(canonical(a))).not.toBe(clientNetwork(canonical(b)));
      }),
      { numRuns: 500 },
    );
  });
});
