// Temporary directories the bench creates (bundles, nginx / HAProxy configs,
// persisted Durable Object state...), removed when the run ends.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

const made = new Set();

/** @param {string} label @returns {Promise<string>} */
export async function tempDir(label) {
  const dir = await mkdtemp(path.join(tmpdir(), `switchyard-bench-${label}-`));
  made.add(dir);
  return dir;
}

export async function removeTempDirs() {
  await Promise.all([...made].map((dir) => rm(dir, { recursive: true, force: true })));
  made.clear();
}
