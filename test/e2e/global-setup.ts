import { rm } from "node:fs/promises";
import type { TestProject } from "vitest/node";
import { bundleWorker } from "../../scripts/lib/mesh-runtime.mjs";

/**
 * One `wrangler deploy --dry-run` bundle for every e2e file: each file still
 * starts its own Miniflare (fresh KV and Durable Object state) from it.
 */
let bundleDir: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  bundleDir = await bundleWorker();
  project.provide("meshBundleDir", bundleDir);
}

export async function teardown(): Promise<void> {
  if (bundleDir !== null) await rm(bundleDir, { recursive: true, force: true });
}

declare module "vitest" {
  export interface ProvidedContext {
    meshBundleDir: string;
  }
}
