import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyMeshSignature } from "../../../verify/verify-mesh-signature.mjs";

/**
 * Real loopback servers for the security end-to-end tests: an origin that
 * checks the mesh's signature exactly as docs/security.md tells origin owners
 * to (the Node verifier, a replay cache), and a JWKS endpoint.
 */

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SignedOrigin {
  url: string;
  /** The verifier's verdict on every non-health request, in order: "ok" or its reason. */
  verdicts: string[];
  /** The last request the verifier accepted, as received. */
  lastAccepted: ReceivedRequest | null;
  close(): Promise<void>;
}

/** An origin that serves only requests the mesh signed with `secret`, each at most once. */
export async function startSignedOrigin(secret: string): Promise<SignedOrigin> {
  const seen = new Map<string, number>();
  const origin: SignedOrigin = { url: "", verdicts: [], lastAccepted: null, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      // Health probes come from the coordinator, not through the data plane, and are not signed.
      if (req.url === "/healthz") {
        res.writeHead(200).end("ok");
        return;
      }
      const received: ReceivedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      void verifyMeshSignature({
        secret,
        method: received.method,
        url: received.url,
        headers: received.headers,
        body: received.body,
        replayGuard: (key, expiresAtMs) => {
          const now = Date.now();
          for (const [k, exp] of seen) if (exp < now) seen.delete(k);
          if (seen.has(key)) return false;
          seen.set(key, expiresAtMs);
          return true;
        },
      }).then((result) => {
        origin.verdicts.push(result.ok ? "ok" : result.reason);
        if (!result.ok) {
          res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: "unauthorized", message: result.reason }));
          return;
        }
        origin.lastAccepted = received;
        const echo = { path: received.url, authorization: req.headers.authorization ?? null, body: received.body.toString("utf8") };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(echo));
      });
    });
  });
  origin.url = await listen(server);
  origin.close = () => close(server);
  return origin;
}

export interface JwksServer {
  url: string;
  /** How many times the key set was fetched. */
  hits: number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly object[]): Promise<JwksServer> {
  const jwks: JwksServer = { url: "", hits: 0, close: async () => undefined };
  const server = createServer((req, res) => {
    jwks.hits++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
    req.resume();
  });
  jwks.url = `${await listen(server)}/.well-known/jwks.json`;
  jwks.close = () => close(server);
  return jwks;
}
