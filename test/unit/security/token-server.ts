import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real OAuth2 token endpoint on 127.0.0.1 for the token-source tests. Each
 * request takes the next scripted answer (the last one repeats); "hang" holds
 * the response until release() is called.
 */
export type Answer = { status: number; body: string } | "hang";

export interface SeenRequest {
  method: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface TokenServer {
  url: string;
  seen: SeenRequest[];
  script(...answers: Answer[]): void;
  release(answer: { status: number; body: string }): void;
  /** Resolves when the server has received `count` requests in all. */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

export function tokenJson(token: string, expiresIn?: number): { status: number; body: string } {
  return { status: 200, body: JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: expiresIn }) };
}

export async function startTokenServer(): Promise<TokenServer> {
  let answers: Answer[] = [tokenJson("t0", 3600)];
  const seen: SeenRequest[] = [];
  const held: ServerResponse[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        authorization: req.headers.authorization,
        contentType: req.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      });
      for (const w of waiters.filter((w) => seen.length >= w.count)) w.resolve();
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (answer === undefined || answer === "hang") {
        held.push(res);
        return;
      }
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    seen,
    script: (...next) => {
      answers = next;
    },
    release: (answer) => {
      for (const res of held.splice(0)) res.writeHead(answer.status).end(answer.body);
    },
    received: (count) =>
      seen.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
