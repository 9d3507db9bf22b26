// The bench side of origin-host-process.mjs: starts the child and turns its
// IPC commands into promises. Times it returns are epoch milliseconds with
// sub-millisecond precision, on the same clock as the load loop's.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { onCpu } from "./cpu.mjs";
import { startProcess } from "./procs.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** @param {{ cpu?: number | null }} [opts] */
export async function startOriginHost({ cpu = null } = {}) {
  const cmd = onCpu(cpu, process.execPath, [path.join(HERE, "origin-host-process.mjs")]);
  const proc = startProcess(cmd.command, cmd.args, { name: "origin host", ipc: true });
  const child = proc.child;
  let next = 0;
  const pending = new Map();
  await new Promise((resolve, reject) => {
    child.once("message", (m) => (m?.ready ? resolve(undefined) : reject(new Error("origin host did not start"))));
    child.once("exit", (code) => reject(new Error(`origin host exited (${code}): ${proc.output}`)));
  });
  child.on("message", (m) => {
    const done = pending.get(m.id);
    if (done === undefined) return;
    pending.delete(m.id);
    done(m);
  });
  /** @returns {Promise<any>} */
  function send(cmd, args = {}) {
    return new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, (m) => (m.ok ? resolve(m) : reject(new Error(m.error))));
      child.send({ id, cmd, ...args });
    });
  }
  return {
    /** Starts an origin; `catchAll` origins record every probe's path (one server, many instance URLs). */
    async create(name, { port = 0, catchAll = false } = {}) {
      const r = await send("create", { name, port, catchAll });
      return { name, port: r.port, url: `http://127.0.0.1:${r.port}` };
    },
    stop: async (name) => (await send("stop", { name })).at,
    start: async (name) => (await send("start", { name })).at,
    hang: async (name) => (await send("hang", { name })).at,
    unhang: async (name) => (await send("unhang", { name })).at,
    /** @returns {Promise<{ arrivals: number[], probes: [number, string][] }>} */
    log: (name, since = 0) => send("log", { name, since }),
    clear: () => send("clear"),
    close: () => proc.stop(),
  };
}
