import type { TestProject } from "vitest/node";
import { startOrigins, type Origin } from "../../scripts/lib/origin.mjs";

/**
 * Real HTTP origins on 127.0.0.1 for the Workers-pool tests. They run in Node,
 * outside workerd; tests reach them by port and steer them over POST /__control.
 */
let origins: Origin[] = [];

export async function setup(project: TestProject): Promise<void> {
  origins = await startOrigins(4, "wt");
  project.provide("originPorts", origins.map((o) => o.port).join(","));
}

export async function teardown(): Promise<void> {
  await Promise.all(origins.map((o) => o.stop()));
}

declare module "vitest" {
  export interface ProvidedContext {
    originPorts: string;
  }
}
