// Child-process entry: the fallback throughput origins when nginx is absent.
// Minimal Node HTTP servers, one per port from argv, answering every path with
// the same small body nginx would. Kept out of the bench's own process so the
// load generator and the origins never share an event loop.
import http from "node:http";

const ports = process.argv.slice(2).map(Number);
ports.forEach((port, i) => {
  const name = `origin-${i + 1}`;
  const body = JSON.stringify({ origin: name });
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-origin": name });
    res.end(body);
  });
  server.keepAliveTimeout = 75_000;
  server.listen(port, "127.0.0.1");
});
