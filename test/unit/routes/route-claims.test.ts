import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RouteClaims } from "../../../src/core/routes/route-claims.js";
import { RouteTable } from "../../../src/core/routes/route-table.js";

const paths = (...pathPrefixes: string[]) => ({ hosts: [], pathPrefixes, stripPrefix: false });

describe("RouteClaims", () => {
  it("refuses a rule another service owns, with the owner, and allows the owner to keep it", () => {
    const claims = new RouteClaims();
    claims.set("shop", paths("/shop", "/cart"));
    expect(claims.conflictFor("orders", paths("/orders", "/cart/"))).toEqual({ host: null, prefix: "/cart", services: ["shop", "orders"] });
    expect(claims.conflictFor("shop", paths("/cart", "/new"))).toBeNull();
  });

  it("frees the old rules when a service changes or goes away", () => {
    const claims = new RouteClaims();
    claims.set("shop", paths("/shop"));
    claims.set("shop", paths("/store"));
    expect(claims.conflictFor("other", paths("/shop"))).toBeNull();
    expect(claims.conflictFor("other", paths("/store"))).not.toBeNull();
    claims.set("shop", null);
    expect(claims.conflictFor("other", paths("/store"))).toBeNull();
    expect(claims.services).toBe(0);
  });

  it("tells hosts apart, case-insensitively, and treats a host-only service as owning '/' on its hosts", () => {
    const claims = new RouteClaims();
    claims.set("a", { hosts: ["API.example.com"], pathPrefixes: [], stripPrefix: false });
    expect(claims.conflictFor("b", { hosts: ["api.example.com"], pathPrefixes: ["/"], stripPrefix: false })).not.toBeNull();
    expect(claims.conflictFor("b", { hosts: ["www.example.com"], pathPrefixes: [], stripPrefix: false })).toBeNull();
    expect(claims.conflictFor("b", paths("/"))).toBeNull();
  });

  it("refuses a rule that is another service's in the form a request path takes (percent-encoded, dot segments resolved)", () => {
    const claims = new RouteClaims();
    claims.set("menu", paths("/café"));
    expect(claims.conflictFor("other", paths("/caf%C3%A9/"))).toEqual({ host: null, prefix: "/caf%C3%A9", services: ["menu", "other"] });
    claims.set("docs", paths("/d/e"));
    expect(claims.conflictFor("other", paths("/d/./e"))).toEqual({ host: null, prefix: "/d/e", services: ["docs", "other"] });
  });

  it("agrees with RouteTable: a set of services it accepts one by one builds a table with no conflict", () => {
    const prefix = fc.constantFrom("/", "/a", "/a/", "/b", "/a/b", "/c");
    const host = fc.constantFrom("x.example.com", "X.example.com", "*.example.com", "y.example.com");
    const service = fc.record({ hosts: fc.array(host, { maxLength: 2 }), pathPrefixes: fc.array(prefix, { maxLength: 3 }), stripPrefix: fc.constant(false) });
    fc.assert(
      fc.property(fc.array(service, { maxLength: 8 }), (services) => {
        const claims = new RouteClaims();
        const accepted: { service: string; hosts: string[]; pathPrefixes: string[]; stripPrefix: boolean }[] = [];
        services.forEach((routes, i) => {
          const name = `s${i}`;
          const conflict = claims.conflictFor(name, routes);
          const table = new RouteTable([...accepted, { service: name, ...routes }]);
          // Exactly the services the full-table check refuses are the ones the claims refuse.
          expect(conflict === null).toBe(table.conflicts.length === 0);
          if (conflict === null) {
            claims.set(name, routes);
            accepted.push({ service: name, ...routes });
          }
        });
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});
