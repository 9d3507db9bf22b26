// V8 CPU profiles of Workers running in workerd, through the inspector that
// Miniflare exposes (one target per isolate: the user Worker, Miniflare's
// entry Worker, its outbound "strip-cf-connecting-ip" Worker, KV, cache...).
// Used by scripts/bench/profile.mjs to say where a request's CPU time goes.
import { createRequire } from "node:module";
import path from "node:path";
import { ROOT } from "../../lib/mesh-runtime.mjs";

async function webSocketClass() {
  if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
  // Node 20 has no global WebSocket without a flag; `ws` ships with Miniflare.
  const require = createRequire(path.join(ROOT, "package.json"));
  const mod = await import(require.resolve("ws"));
  return mod.default ?? mod.WebSocket;
}

/** Lists the isolates workerd exposes for debugging. */
export async function listTargets(inspectorPort) {
  const res = await fetch(`http://127.0.0.1:${inspectorPort}/json`);
  /** @type {{ id: string, title: string, webSocketDebuggerUrl: string }[]} */
  const targets = await res.json();
  return targets;
}

/** Opens a DevTools protocol session on one isolate. */
export async function openSession(webSocketDebuggerUrl) {
  const WS = await webSocketClass();
  const ws = new WS(webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(undefined), { once: true });
    ws.addEventListener("error", (e) => reject(new Error(`inspector: ${e.message ?? "connection failed"}`)), { once: true });
  });
  let next = 0;
  const pending = new Map();
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(String(event.data));
    const done = msg.id === undefined ? undefined : pending.get(msg.id);
    if (done === undefined) return;
    pending.delete(msg.id);
    done(msg);
  });
  return {
    /** @returns {Promise<any>} */
    call(method, params = {}) {
      return new Promise((resolve, reject) => {
        const id = ++next;
        pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => ws.close(),
  };
}

/** Starts sampling on every session; returns a function that stops them and returns the profiles. */
export async function startProfiling(sessions, intervalUs = 100) {
  for (const s of sessions) {
    await s.call("Profiler.enable");
    await s.call("Profiler.setSamplingInterval", { interval: intervalUs });
  }
  await Promise.all(sessions.map((s) => s.call("Profiler.start")));
  return async () => Promise.all(sessions.map(async (s) => (await s.call("Profiler.stop")).profile));
}

/** Folds a V8 CPU profile into self time per function; frames are keyed "name file:line". */
export function summarizeProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const key = (n) => {
    const file = n.callFrame.url === "" ? "" : ` ${n.callFrame.url.split("/").at(-1)}:${n.callFrame.lineNumber + 1}`;
    return `${n.callFrame.functionName || "(anonymous)"}${file}`;
  };
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const k = key(byId.get(id));
    self.set(k, (self.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = profile.endTime - profile.startTime;
  const idleUs = self.get("(idle)") ?? 0;
  return { totalUs, busyUs: totalUs - idleUs, self };
}
