/**
 * Every KV key Switchyard writes. docs/storage.md documents each with an example;
 * change both together.
 */
export const KEY = {
  service: (name: string) => `service:${name}`,
  servicePrefix: "service:",
  instance: (service: string, id: string) => `instance:${service}:${id}`,
  instancePrefix: (service: string) => `instance:${service}:`,
  routeIndex: "routes",
  lastSweep: "sweep:last",
} as const;
