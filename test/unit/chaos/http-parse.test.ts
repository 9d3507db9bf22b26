import { describe, expect, it } from "vitest";
import { parseHead, parseResponses, readBody } from "../../../scripts/chaos/net/http-parse.mjs";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

describe("raw HTTP reading", () => {
  it("waits for a whole head and joins repeated headers", () => {
    expect(parseHead(b("GET / HTTP/1.1\r\nhost: x\r\n"))).toBeNull();
    const head = parseHead(b("GET /a HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody"));
    expect(head?.startLine).toBe("GET /a HTTP/1.1");
    expect(head?.headers.get("x-a")).toBe("1, 2");
    expect(head?.headBytes).toBe("GET /a HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n\r\n".length);
  });

  it("reads Content-Length and chunked bodies, and reports an incomplete one as null", () => {
    const cl = new Map([["content-length", "5"]]);
    expect(readBody(cl, b("hello, next"), { untilClose: false })).toEqual({ body: b("hello"), used: 5 });
    expect(readBody(cl, b("hel"), { untilClose: false })).toBeNull();
    const te = new Map([["transfer-encoding", "chunked"]]);
    expect(readBody(te, b("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), { untilClose: false })?.body.toString()).toBe("abcde");
    expect(readBody(te, b("3\r\nabc\r\n"), { untilClose: false })).toBeNull();
  });

  it("splits interim and final responses and marks a cut final body incomplete", () => {
    const rs = parseResponses(b("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345"));
    expect(rs.map((r) => [r.status, r.complete])).toEqual([
      [100, true],
      [200, false],
    ]);
    const two = parseResponses(b("HTTP/1.1 400 Bad\r\ncontent-length: 2\r\n\r\nnoHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
    expect(two.map((r) => r.status)).toEqual([400, 200]);
  });
});
