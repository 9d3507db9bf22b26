// Child-process entry: controllable, instrumented origins for the failover and
// health-check scenarios. It plays the part of scripts/lib/origin.mjs (same
// echo body naming the origin, /healthz, stop / start / hang) and adds what a
// benchmark needs: the arrival time of every request, so "the last request
// that reached the sick origin" and "the first request after it came back"
// are measured where they happen. It runs in its own process so the load
// loop's event loop never delays an origin (or the other way round).
//
// Commands arrive over IPC as { id, cmd, ... } and are answered { id, ok, ... }.
import { performance } from "node:perf_hooks";
import { restartableServer } from "../../lib/origin.mjs";

const now = () => performance.timeOrigin + performance.now();

/** @type {Map<string, ReturnType<typeof makeOrigin>>} */
const origins = new Map();

function makeOrigin(name, port, catchAll) {
  /** Arrival times (ms, epoch) of requests that are not health checks. */
  const arrivals = [];
  /** Arrival times and paths of health checks. */
  const probes = [];
  const body = JSON.stringify({ origin: name });

  function handle(req, res) {
    const t = now();
    const path = req.url ?? "/";
    const isProbe = path.endsWith("/healthz");
    if (isProbe) probes.push([t, catchAll ? path : ""]);
    else arrivals.push(t);
    if (server.hanging) {
      req.resume();
      return; // accept, read, never answer
    }
    req.resume();
    req.on("end", () => {
      if (isProbe) {
        res.writeHead(200, { "content-type": "text/plain", "content-length": 2 });
        res.end("ok");
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-origin": name });
      res.end(body);
    });
  }

  const server = restartableServer(handle, { port, keepAliveTimeoutMs: 60_000 });

  // stop() closes the port and every open connection: the mesh sees refused / reset connections.
  return { arrivals, probes, server };
}

async function onCommand(msg) {
  const reply = (extra) => process.send?.({ id: msg.id, ok: true, ...extra });
  try {
    switch (msg.cmd) {
      case "create": {
        const o = makeOrigin(msg.name, msg.port ?? 0, msg.catchAll === true);
        origins.set(msg.name, o);
        reply({ port: await o.server.start(), at: now() });
        break;
      }
      case "stop":
        await origins.get(msg.name)?.server.stop();
        reply({ at: now() });
        break;
      case "start": {
        const o = origins.get(msg.name);
        const port = await o?.server.start();
        reply({ port, at: now() });
        break;
      }
      case "hang":
        origins.get(msg.name)?.server.hang();
        reply({ at: now() });
        break;
      case "unhang":
        origins.get(msg.name)?.server.unhang();
        reply({ at: now() });
        break;
      case "log": {
        const o = origins.get(msg.name);
        const since = msg.since ?? 0;
        reply({
          arrivals: o ? o.arrivals.filter((t) => t >= since) : [],
          probes: o ? o.probes.filter(([t]) => t >= since) : [],
        });
        break;
      }
      case "clear":
        for (const o of origins.values()) {
          o.arrivals.length = 0;
          o.probes.length = 0;
        }
        reply({});
        break;
      default:
        process.send?.({ id: msg.id, ok: false, error: `unknown command ${msg.cmd}` });
    }
  } catch (err) {
    process.send?.({ id: msg.id, ok: false, error: String(err) });
  }
}
// onCommand answers every failure as an { ok: false } reply, so it never rejects.
process.on("message", (msg) => {
  void onCommand(msg);
});
process.send?.({ ready: true });
