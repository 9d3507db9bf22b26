import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A hostile OAuth2 token endpoint and JWKS server on 127.0.0.1, for the
 * Workers-pool tests of the mesh's upstream security (test/worker/security/).
 * The answer is chosen by the path's first two segments, so tests sharing the
 * server never steer each other; the rest of the path is free for a unique
 * suffix, and GET /__hits/<path> says how often that exact path was asked for.
 *
 *   /token/ok              a Bearer token "hostile-ok", expires_in 3600
 *   /token/huge            a valid token padded with 10 MB of JSON
 *   /token/crlf            an access_token carrying CR/LF and a header line
 *   /token/slow-3000       a valid token after 3 s (any number of ms)
 *   /token/redirect        302 to /token/ok
 *   /token/stall           200 and the start of a JSON body, then nothing
 *   /jwks/endless          200 and a key set that never ends
 *   /jwks/redirect         302 to http://10.0.0.1/jwks (a private address)
 */
export interface HostileIdp {
  port: number;
  close(): Promise<void>;
}

function answer(path: string, res: ServerResponse): void {
  const [, family, kind] = path.split("/");
  const json = (body: unknown): void => {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const slow = /^slow-(\d+)$/.exec(kind ?? "");
  if (family === "token" && slow !== null) {
    setTimeout(() => json({ access_token: "hostile-slow", token_type: "Bearer", expires_in: 3600 }), Number(slow[1]));
    return;
  }
  switch (`${family}/${kind}`) {
    case "token/ok":
      return json({ access_token: "hostile-ok", token_type: "Bearer", expires_in: 3600 });
    case "token/huge":
      return json({ access_token: "hostile-huge", token_type: "Bearer", pad: "x".repeat(10 * 1024 * 1024) });
    case "token/crlf":
      return json({ access_token: "abc\r\nx-injected: yes", token_type: "Bearer" });
    case "token/stall":
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"access_token":"hostile-stall",');
      return;
    case "token/redirect":
      res.writeHead(302, { location: "/token/ok" }).end();
      return;
    case "jwks/endless":
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"keys":[],"pad":"${"x".repeat(70_000)}`);
      return;
    case "jwks/redirect":
      res.writeHead(302, { location: "http://10.0.0.1/jwks" }).end();
      return;
    default:
      res.writeHead(404).end();
  }
}

export async function startHostileIdp(): Promise<HostileIdp> {
  const hits = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://idp").pathname;
    req.resume();
    if (path.startsWith("/__hits/")) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ hits: hits.get(path.slice("/__hits".length)) ?? 0 }));
      return;
    }
    hits.set(path, (hits.get(path) ?? 0) + 1);
    answer(path, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
