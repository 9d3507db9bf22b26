// Temporary directories the bench creates (bundles, nginx / HAProxy configs,
// persisted Durable Object state...), removed when the run ends.
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

const made = new Set();

/** A writable tmpfs, or null (not Linux, or no /dev/shm). */
function memoryFs() {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return null;
  }
}

/**
 * @param {string} label
 * @param {{ inMemory?: boolean }} [opts] inMemory: on tmpfs when there is one. For
 *   Miniflare's persisted state: its KV simulator writes one file per value, and
 *   on ext4 creating those files (inode allocation) took about a sixth of
 *   workerd's CPU while seeding (docs/performance.md, "Seeding"): a cost of the
 *   local disk, not of the mesh or of production KV.
 * @returns {Promise<string>}
 */
export async function tempDir(label, { inMemory = false } = {}) {
  const base = (inMemory ? memoryFs() : null) ?? tmpdir();
  const dir = await mkdtemp(path.join(base, `switchyard-bench-${label}-`));
  made.add(dir);
  return dir;
}

export async function removeTempDirs() {
  await Promise.all([...made].map((dir) => rm(dir, { recursive: true, force: true })));
  made.clear();
}
