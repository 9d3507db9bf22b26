// Scenario 3: health-check scale. One service (one coordinator Durable Object)
// with N registered instances, all answered by one cheap catch-all origin: the
// instance URLs differ by path (http://127.0.0.1:P/i/17), and the origin logs
// the arrival time and path of every probe (/i/17/healthz). One alarm round is
// the burst of N probes; its duration is last probe arrival minus first
// (plus a final probe's answer, well under a millisecond on loopback). The
// coordinator's own lastCheckAt spread is read back as a cross-check. CPU per
// instance is workerd's CPU time during the round (sampled every 50 ms from
// /proc) over N.
import { cpuMs } from "../lib/cpu.mjs";
import { pool } from "../lib/mesh-client.mjs";
import { startOriginHost } from "../lib/origin-host.mjs";
import { round, sleep } from "../lib/stats.mjs";
import { cpuBetween, splitRounds } from "../analysis/probe-rounds.mjs";

/**
 * @param {{ mesh: ReturnType<typeof import("../lib/mesh-client.mjs").meshClient>, meshPids: number[], quick: boolean, log: (s: string) => void }} ctx
 */
export async function healthScale({ mesh, meshPids, quick, log }) {
  const sizes = quick ? [10, 100] : [10, 100, 1000];
  const intervalSeconds = quick ? 2 : 5;
  const roundsWanted = 2;
  const host = await startOriginHost();
  const results = [];
  try {
    const origin = await host.create("probe-target", { catchAll: true });
    for (const n of sizes) {
      const service = `health-${n}`;
      const token = await mesh.putService(service, {
        routes: { pathPrefixes: [`/health-${n}`] },
        healthCheck: { intervalSeconds, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2 },
      });
      const regStarted = Date.now();
      await pool(n, 16, (i) => mesh.register(service, token, `${origin.url}/i/${n}-${i}`, { ttlSeconds: 3600 }));
      const regMs = Date.now() - regStarted;
      log(`health: ${n} instances registered in ${regMs} ms (interval ${intervalSeconds} s); waiting for ${roundsWanted} full alarm rounds`);

      // Sample workerd CPU while waiting, to charge each round its CPU time.
      const cpuSamples = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          cpuSamples.push([Date.now(), await cpuMs(meshPids)]);
          await sleep(50);
        }
      })();
      const prefix = `/i/${n}-`;
      const deadline = Date.now() + (roundsWanted + 1) * intervalSeconds * 1000 + n * 20 + 10_000;
      let rounds = [];
      while (Date.now() < deadline) {
        await sleep(500);
        const { probes } = await host.log(origin.name, regStarted);
        rounds = splitRounds(probes.filter(([, p]) => p.startsWith(prefix)), n);
        if (rounds.filter((r) => r.complete).length >= roundsWanted && Date.now() - rounds.at(-1).last > 300) break;
      }
      sampling = false;
      await sampler;
      const view = await mesh.describe(service);
      const checked = view.instances.map((i) => (i.lastCheckAt === null ? null : Date.parse(i.lastCheckAt))).filter((t) => t !== null);
      const complete = rounds.filter((r) => r.complete);
      const measured = complete.map((r) => {
        const cpu = cpuBetween(cpuSamples, r.first - 60, r.last + 110);
        // /proc counts CPU in 10 ms ticks, and the window also catches the mesh's other work:
        // only rounds of 100+ instances using 100+ ms of CPU give a per-instance figure worth printing.
        const meaningful = n >= 100 && cpu >= 100;
        return { durationMs: round(r.last - r.first, 1), probes: r.count, cpuMs: round(cpu, 0), cpuUsPerInstance: meaningful ? round((cpu * 1000) / n, 0) : null };
      });
      const result = {
        instances: n,
        intervalSeconds,
        registerMs: regMs,
        roundsObserved: complete.length,
        rounds: measured,
        roundDurationMs: measured.length > 0 ? Math.max(...measured.map((m) => m.durationMs)) : null,
        msPerInstance: measured.length > 0 ? round(Math.max(...measured.map((m) => m.durationMs)) / n, 3) : null,
        cpuUsPerInstance: measured.some((m) => m.cpuUsPerInstance !== null) ? Math.max(...measured.map((m) => m.cpuUsPerInstance ?? 0)) : null,
        fitsIn10s: measured.length > 0 && Math.max(...measured.map((m) => m.durationMs)) < 10_000,
        healthyAfter: view.instances.filter((i) => i.state === "healthy").length,
        lastCheckSpreadMs: checked.length > 0 ? Math.max(...checked) - Math.min(...checked) : null,
      };
      results.push(result);
      log(
        `  ${n} instances: round ${result.roundDurationMs ?? "n/a"} ms (${result.msPerInstance ?? "n/a"} ms/instance, ~${result.cpuUsPerInstance ?? "n/a"} µs CPU/instance); ` +
          `${result.healthyAfter}/${n} healthy; lastCheckAt spread ${result.lastCheckSpreadMs} ms`,
      );
      await mesh.deleteService(service);
      await host.clear();
    }
    return { method: "origin-side probe arrival log; round = burst of N probes, one per instance, separated by > 1 s gaps", sizes: results };
  } finally {
    await host.close();
  }
}
