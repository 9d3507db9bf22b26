import type { Miniflare } from "miniflare";
export const ROOT: string;
export function wranglerDryRun(opts?: { config?: string; outdir?: string; args?: string[] }): Promise<{ dir: string; output: string }>;
export function bundleWorker(opts?: { config?: string; outdir?: string }): Promise<string>;
export interface RunningWorker {
  mf: Miniflare;
  url: string;
  dispose(): Promise<void>;
}
export function startWorker(opts: {
  bundleDir: string;
  config?: string;
  bindings?: Record<string, string>;
  miniflare?: Record<string, unknown>;
}): Promise<RunningWorker>;
