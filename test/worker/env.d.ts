// Bindings that only the test project adds (vitest.config.ts), on top of the generated Env.
declare namespace Cloudflare {
  interface Env {
    ORIGIN_PORTS: string;
  }
}
