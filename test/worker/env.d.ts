// Bindings that only the test project adds (vitest.config.ts), on top of the generated Env.
declare namespace Cloudflare {
  interface Env {
    ORIGIN_PORTS: string;
    /** test/support/hostile-idp.ts: a token endpoint and JWKS server that misbehave by path. */
    HOSTILE_IDP_PORT: string;
  }
}
