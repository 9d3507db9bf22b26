import type { TestProject } from "vitest/node";
import { startOrigins, type Origin } from "../../scripts/lib/origin.mjs";
import { startHostileIdp, type HostileIdp } from "../support/hostile-idp.js";

/**
 * Real HTTP origins on 127.0.0.1 for the Workers-pool tests. They run in Node,
 * outside workerd; tests reach them by port and steer them over POST /__control.
 */
let origins: Origin[] = [];
let idp: HostileIdp | undefined;

export async function setup(project: TestProject): Promise<void> {
  origins = await startOrigins(4, "wt");
  project.provide("originPorts", origins.map((o) => o.port).join(","));
  idp = await startHostileIdp();
  project.provide("hostileIdpPort", String(idp.port));
}

export async function teardown(): Promise<void> {
  await Promise.all(origins.map((o) => o.stop()));
  await idp?.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    originPorts: string;
    hostileIdpPort: string;
  }
}
