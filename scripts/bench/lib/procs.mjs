// @ts-check
// Child processes the bench starts (nginx, haproxy, Node origins, load
// generators). Every one is remembered by pid and stopped by that pid when the
// bench ends, normally or on Ctrl-C; nothing is ever killed by name.
import { spawn } from "node:child_process";
import net from "node:net";

/** @type {Set<import("node:child_process").ChildProcess>} */
const live = new Set();
// Last resort when the bench dies on an exception: nginx and HAProxy shut
// down (workers included) on SIGTERM, and "exit" handlers may only do sync work.
process.on("exit", () => {
  for (const child of live) child.kill("SIGTERM");
});

/**
 * @param {string} command
 * @param {string[]} args
 * @param {{ name: string, env?: NodeJS.ProcessEnv, ipc?: boolean }} opts
 */
export function startProcess(command, args, { name, env, ipc = false }) {
  const child = spawn(command, args, {
    stdio: ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
    env: env ?? process.env,
  });
  live.add(child);
  let output = "";
  /** @param {Buffer | string} d */
  const keep = (d) => {
    output = (output + String(d)).slice(-8000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    name,
    child,
    get pid() {
      return child.pid;
    },
    get output() {
      return output;
    },
    exited,
    /** Stops this process (SIGTERM, then SIGKILL after 3 s) and waits for it. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Stops every process still running; safe to call more than once. */
export async function stopAll() {
  await Promise.all(
    [...live].map(async (child) => {
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }),
  );
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:port (bounded wait).
 * @param {number} port @param {number} [timeoutMs]
 * @param {{ name: string, output: string }} [proc] whose output to show if nothing comes up
 */
export async function waitForPort(port, timeoutMs = 10_000, proc) {
  const started = Date.now();
  for (;;) {
    /** @type {boolean} */
    const ok = await new Promise((/** @type {(ok: boolean) => void} */ resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms${proc ? `; ${proc.name} said:\n${proc.output}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
