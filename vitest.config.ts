import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * Four projects, as in cloudflare/agents:
 *  - unit:   the pure core in plain Node (no Workers runtime needed);
 *  - bench:  the benchmark's own arithmetic (scripts/bench/analysis, report/targets)
 *            in plain Node, apart from the product's tests;
 *  - worker: API, Durable Object, cron and KV inside workerd via the Workers pool,
 *            with real loopback origins started by test/worker/global-setup.ts;
 *  - e2e:    the bundled mesh in Miniflare plus real HTTP origins, driven over HTTP.
 */
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          exclude: ["test/unit/bench/**"],
          environment: "node",
          // Several unit tests start a Node CLI or promtool. Under the full suite, e2e workerd processes
          // hold both cores, and five sequential spawns took longer than vitest's 5 s default (CI's clean clone);
          // a test that hangs still fails, 25 s later.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "bench",
          include: ["test/unit/bench/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                MESH_ADMIN_TOKEN: "test-admin-token",
                MESH_METRICS_TOKEN: "test-metrics-token",
                ALLOW_PRIVATE_ORIGINS: "true",
                REQUEST_LOG: "off",
                // Tests that turn the line on check one line per request; wrangler.toml ships "0.1"
                // (test/worker/router/log-sample.test.ts sets its own values).
                REQUEST_LOG_SAMPLE: "1",
                ORIGIN_PORTS: inject("originPorts"),
                HOSTILE_IDP_PORT: inject("hostileIdpPort"),
              },
            },
          })),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/worker/global-setup.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
