// Measurement-only entry module for scripts/scale/measure/run.mjs: the bundled
// mesh unchanged, with a coordinator subclass that counts the RPCs routers make.
// Never deployed; it lets the measurement count calls without touching src/.
import mesh, { ServiceCoordinator } from "./index.js";

export class CountingCoordinator extends ServiceCoordinator {
  #counts = { snapshot: 0, report: 0, pickBatch: 0 };

  async snapshot(haveVersion) {
    this.#counts.snapshot++;
    return super.snapshot(haveVersion);
  }

  async report(reports) {
    this.#counts.report++;
    return super.report(reports);
  }

  async pickBatch(excludes) {
    this.#counts.pickBatch++;
    return super.pickBatch(excludes);
  }

  async counts() {
    return { ...this.#counts };
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__scale/counts") {
      const service = url.searchParams.get("service") ?? "";
      return Response.json(await env.SERVICES.get(env.SERVICES.idFromName(service)).counts());
    }
    return mesh.fetch(request, env, ctx);
  },
  scheduled: mesh.scheduled,
};
