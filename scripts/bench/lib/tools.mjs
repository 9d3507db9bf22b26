// Finds the optional native tools the bench can use. Each is looked up on PATH
// and in the Debian install locations; BENCH_WITHOUT=wrk,nginx,haproxy hides
// them so the fallback paths can be exercised on a machine that has them.
import { accessSync, constants } from "node:fs";
import path from "node:path";

const WITHOUT = new Set((process.env.BENCH_WITHOUT ?? "").split(",").map((s) => s.trim()).filter(Boolean));
const EXTRA_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];

/** @param {string} name @returns {string | null} absolute path, or null when absent (or hidden by BENCH_WITHOUT) */
export function findTool(name) {
  if (WITHOUT.has(name)) return null;
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** The tools this run can use, with the reason a row will be skipped when one is missing. */
export function detectTools() {
  return {
    wrk: findTool("wrk"),
    nginx: findTool("nginx"),
    haproxy: findTool("haproxy"),
  };
}

/** Debian package that provides each tool, for the "skipped" notes. */
export const INSTALL_HINT = {
  wrk: "apt-get install wrk",
  nginx: "apt-get install nginx-light",
  haproxy: "apt-get install haproxy",
};
