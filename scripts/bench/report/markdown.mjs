// @ts-check
// The human-readable summary of one run: every table the JSON holds, the
// targets with pass/fail, the charts, and how each number was measured.

/**
 * @typedef {import("./result.mjs").BenchResult} BenchResult
 * @typedef {import("./result.mjs").ResultFiles} ResultFiles
 */

/** @param {number | null | undefined} v @param {number} [d] */
const f = (v, d = 0) => (v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v)) ? "n/a" : Number(v).toFixed(d));
/** @param {boolean | null} pass */
const mark = (pass) => (pass === null ? "—" : pass ? "✅ met" : "❌ missed");
/** @param {string[]} head @param {string[][]} rows */
const table = (head, rows) => [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

/** @param {BenchResult} r @param {ResultFiles} files @returns {string} */
export function markdownReport(r, files) {
  /** @type {string[]} */
  const out = [];
  const m = r.meta;
  out.push(`# Switchyard benchmark — ${m.date}${m.mode === "quick" ? " (quick mode)" : ""}`);
  out.push("");
  out.push(`Commit \`${m.git.commit}\`${m.git.dirty ? " (with uncommitted changes)" : ""} · ${m.machine.cpus} × ${m.machine.cpuModel} · ${m.machine.memoryGiB} GiB · Node ${m.node} · Miniflare ${m.miniflare} (workerd) · wrangler ${m.wrangler} · run took ${f(m.durationSeconds)} s.`);
  out.push("");
  out.push(`Tools: ${Object.entries(m.tools).map(([k, v]) => `${k} ${v === null ? "**not installed**" : `\`${v}\``}`).join(", ")}. CPU pinning: ${m.pinning === null ? "off (taskset missing or fewer than 2 CPUs)" : `system under test on CPU ${m.pinning.sut}, load generator and origins on CPU ${m.pinning.load}`}.`);
  out.push("");
  out.push("Reproduce: `npm run bench` (about 16 minutes) or `npm run bench:quick` (about 2 minutes). Everything runs on 127.0.0.1.");
  out.push("");
  out.push("## Targets");
  out.push("");
  out.push(table(["scenario", "target", "measured", "result"], r.targets.map((t) => [t.scenario, t.target, t.measured, mark(t.pass)])));
  out.push("");
  if (r.errors.length > 0) {
    out.push("**Scenarios that failed to run:**");
    out.push("");
    for (const e of r.errors) out.push(`- ${e.scenario}: ${e.message}`);
    out.push("");
  }

  const s = r.scenarios.steady;
  out.push("## 1. Steady state");
  out.push("");
  if (s?.rows) {
    out.push(`![throughput and latency](${files.throughputSvg})`);
    out.push("");
    out.push(`${s.config.generator}, ${s.config.connections} keep-alive connections for ${s.config.throughputSeconds} s (req/s, CPU), then 1 connection for ${s.config.latencySeconds} s (latency); ${s.config.rounds} interleaved round(s)${(s.config.workerProcesses ?? 1) > 1 ? `, each Worker row in ${s.config.workerProcesses} workerd processes measured in turn and averaged per round` : ""}, medians; "× pass-through", "p50 added" and "CPU added" are medians of per-round comparisons with the pass-through's run in the same round. Origins: ${s.config.origins}.`);
    out.push("");
    out.push(
      table(
        ["row", "req/s", "× pass-through", "× hand-rolled", "p50 / p99 at 16 conn (ms)", "p50 / p99 at 1 conn (ms)", "p50 added (ms)", "proxy CPU µs/req", "CPU added µs/req", "proxy CPU %", "errors"],
        s.rows.map((x) => [
          x.label,
          f(x.throughput.rps),
          f(x.rpsVsPassthrough, 3),
          x.rpsVsHandRolled === undefined ? "—" : f(x.rpsVsHandRolled, 3),
          `${f(x.throughput.p50, 3)} / ${f(x.throughput.p99, 3)}`,
          `${f(x.latency.p50, 3)} / ${f(x.latency.p99, 3)}`,
          ["handrolled", "handrolled-guard", "snapshot", "strict", "snapshot-every-line"].includes(x.id) ? f(x.p50AddedMs, 3) : "—",
          f(x.throughput.cpuUsPerRequest, 1),
          ["handrolled", "handrolled-guard", "snapshot", "strict", "snapshot-every-line"].includes(x.id) ? f(x.cpuAddedUsPerRequest, 1) : "—",
          f(x.throughput.sutCpuPercent),
          String(x.throughput.errors + x.latency.errors),
        ]),
      ),
    );
    out.push("");
    if (!s.config.generator.startsWith("wrk")) {
      out.push("⚠️ wrk is not installed: the Node load generator and Node origins share the CPU with the Workers and approach their own limits, which compresses the ratios between rows. Install wrk (and nginx) for the numbers the targets are meant for.");
      out.push("");
    }
    out.push(`Per-round req/s: ${s.rows.map((x) => `${x.label} ${x.throughput.rpsRounds.map((v) => f(v)).join(" / ")}`).join("; ")}.`);
    const noisy = s.rows.filter((x) => (x.throughput.foreignCpuPercent ?? 0) > 15 || (x.throughput.stealPercent ?? 0) > 5);
    if (noisy.length > 0) {
      out.push(`\n⚠️ Interference during: ${noisy.map((x) => `${x.label} (other processes up to ${x.throughput.foreignCpuPercent}% of a core, hypervisor steal up to ${x.throughput.stealPercent ?? "?"}%)`).join(", ")}; those rows are noisier.`);
    }
    const everyLine = s.rows.find((x) => x.id === "snapshot-every-line");
    const strict = s.rows.find((x) => x.id === "strict");
    if (strict?.throughput.rpcsPer1000 !== undefined) {
      out.push(
        `\nStrict mode: ${f(strict.throughput.rpcsPer1000, 2)} coordinator RPCs per 1,000 requests at ${s.config.connections} connections, ${f(strict.rpsVsSnapshot, 3)}× snapshot mode's req/s (paired per round). ` +
          "Picks come from blocks of the rotation leased per isolate (slot leases; retries use per-pick batches); read from the service's `strictPicks` counters.",
      );
    }
    const handRolled = s.rows.find((x) => x.id === "handrolled");
    const snapshot = s.rows.find((x) => x.id === "snapshot");
    if (handRolled && snapshot) {
      out.push(
        `\nHand-rolled failover Worker: the mesh's header rules (hop-by-hop headers stripped both ways, \`x-mesh-*\` dropped, \`X-Forwarded-*\` set), a per-try timeout, round-robin with failover over the same three origins and one response header, and nothing else: the work any correct proxy does. ` +
          `It ran at ${f(handRolled.rpsVsPassthrough, 3)}× the pass-through, adding ${f(handRolled.cpuAddedUsPerRequest, 1)} µs of CPU per request; the mesh in snapshot mode ran at ${f(snapshot.rpsVsHandRolled, 3)}× the hand-rolled Worker (paired per round), which is what the registry, the route table, health state, stall tracking and outcome reporting cost on top.`,
      );
    }
    const guarded = s.rows.find((x) => x.id === "handrolled-guard");
    if (guarded && handRolled && snapshot?.rpsVsGuarded !== undefined) {
      out.push(
        `
Hand-rolled + body guard: the same Worker, also reading each small sized answer whole within the mesh's default body idle limit and relaying a body that breaks or stalls as a stream that errors (issue 9's guarantees, which the mesh keeps and the plain hand-rolled Worker does not). ` +
          `It ran at ${f(guarded.rpsVsHandRolled, 3)}× the hand-rolled Worker, adding ${f(guarded.cpuAddedUsPerRequest, 1)} µs of CPU per request over the pass-through; the mesh in snapshot mode ran at ${f(snapshot.rpsVsGuarded, 3)}× it (paired per round), which is the rest of the mesh's cost.`,
      );
    }
    if (snapshot) {
      out.push(
        `\nThe mesh rows run the shipped wrangler.toml (REQUEST_LOG="json", REQUEST_LOG_SAMPLE="0.1": a line for 1 plain success in 10 and for every other request): ${f(snapshot.throughput.logLinesPerRequest, 2)} log lines per request reached the host.` +
          `${everyLine ? ` With every line written (REQUEST_LOG_SAMPLE="1", ${f(everyLine.throughput.logLinesPerRequest, 2)} per request) the mesh ran at ${f(everyLine.rpsVsPassthrough, 3)}× the pass-through and ${f(everyLine.rpsVsHandRolled, 3)}× the hand-rolled Worker, adding ${f(everyLine.cpuAddedUsPerRequest, 1)} µs of CPU per request.` : ""}` +
          " Under Miniflare each line is piped from workerd to Node, which is not how production ships logs (Workers Logs / Logpush), so read that gap as an upper bound on the line's Worker-side cost.",
      );
    }
    out.push("");
    out.push("\"proxy CPU\" is the CPU time of the process under test (workerd, nginx or HAProxy; for \"origin direct\" the origin nginx) read from /proc, per request. Every Worker row runs in its own workerd started by Miniflare, which adds its own entry Worker and outbound-filter Worker to each request; both the pass-through and the mesh pay that, production does not.");
    for (const sk of s.skipped) out.push(`\n- Row **${sk.id}** skipped: ${sk.reason}.`);
  } else out.push("not measured");
  out.push("");

  const fo = r.scenarios.failover;
  out.push("## 2. Failover under load");
  out.push("");
  if (fo?.runs) {
    out.push(`![failover timeline](${files.failoverSvg})`);
    out.push("");
    out.push(`${fo.rate} req/s open loop (Node, keep-alive), 3 origins, origin-2 faulted at t=${fo.faultAtMs / 1000} s and restored at t=${fo.restoreAtMs / 1000} s. Health check every ${fo.health.intervalSeconds} s, timeout ${fo.health.timeoutMs} ms, healthy after ${fo.health.healthyThreshold}, unhealthy after ${fo.health.unhealthyThreshold}; retry ${fo.retry.attempts} attempts, ${fo.retry.perTryTimeoutMs} ms per try. Restore target = interval × healthyThreshold + 1 s = ${fo.restoreTargetMs} ms.`);
    out.push("");
    out.push(
      table(
        ["fault", "requests", "client errors", "failed over (x-mesh-attempts>1)", "last request sent to faulty origin", "last arrival logged by it", "coordinator: unhealthy after", "traffic again after restore", "coordinator: healthy after restore", "p50 / p99 / max before (ms)", "p50 / p99 / max during fault (ms)"],
        fo.runs.map((x) => [
          x.fault,
          String(x.requests),
          x.clientErrors === 0
            ? "0"
            : `${x.clientErrors} (${x.meshErrorResponses ?? "?"} HTTP errors from the mesh, ${x.clientSocketErrors ?? "?"} client socket errors${x.socketErrorsOnReusedConnections ? `, ${x.socketErrorsOnReusedConnections} on reused keep-alive sockets` : ""})`,
          String(x.retriedRequests),
          x.requestsTouchingFaultyOrigin === 0
            ? "0 ms (no request sent after the fault reached it)"
            : `${f(x.lastToFaultyMs)} ms${x.fault === "kill" ? ` (answered by ${f(x.lastToFaultyUpperBoundMs)} ms)` : ""}`,
          x.fault === "kill" ? "— (port closed)" : `${f(x.lastArrivalAtFaultyOriginMs)} ms`,
          `${f(x.coordinatorUnhealthyAfterMs)} ms`,
          `${f(x.restoreToTrafficMs)} ms`,
          `${f(x.coordinatorHealthyAfterRestoreMs)} ms`,
          `${f(x.beforeFault.p50, 2)} / ${f(x.beforeFault.p99, 2)} / ${f(x.beforeFault.max, 1)}`,
          `${f(x.duringFault.p50, 2)} / ${f(x.duringFault.p99, 2)} / ${f(x.duringFault.max, 1)}`,
        ]),
      ),
    );
    out.push("");
    out.push("How: a request that touched the faulty origin either failed over (its answer carries x-mesh-attempts > 1) or failed, and the mesh made that try as soon as the request arrived, so \"last request sent\" is the send time of the last such request after the fault (for the kill, in brackets, when it was answered). The hung origin's own arrival log is shown as a cross-check (the load generator keeps enough sockets open that it never queues requests itself). \"Traffic again\" is the restored origin's first logged arrival. Coordinator times come from polling GET /_mesh/v1/services/{name} every 200 ms.");
    for (const x of fo.runs) if (x.errorSamples.length > 0) out.push(`\n- ${x.fault} errors seen: ${x.errorSamples.map((e) => `\`${e}\``).join(", ")}`);
  } else out.push("not measured");
  out.push("");

  const hs = r.scenarios.health;
  out.push("## 3. Health-check scale");
  out.push("");
  if (hs?.sizes) {
    out.push(table(
      ["instances", "interval", "registered in", "rounds seen", "round duration", "ms / instance", "workerd CPU / instance", "healthy after", "lastCheckAt spread"],
      hs.sizes.map((x) => [String(x.instances), `${x.intervalSeconds} s`, `${f(x.registerMs)} ms`, String(x.roundsObserved), `${f(x.roundDurationMs)} ms`, f(x.msPerInstance, 2), `${f(x.cpuUsPerInstance)} µs`, `${x.healthyAfter}/${x.instances}`, `${f(x.lastCheckSpreadMs)} ms`]),
    ));
    out.push("");
    out.push(`Method: ${hs.method}. Round duration is the worst complete round seen. One catch-all Node origin answers every probe (instances differ by URL path). workerd CPU per instance is shown only for rounds of ≥ 100 instances that used ≥ 100 ms of CPU (/proc counts 10 ms ticks).`);
  } else out.push("not measured");
  out.push("");

  const so = r.scenarios.slow;
  if (so?.rows) {
    out.push("## 7. One slow origin, per balancer");
    out.push("");
    out.push(table(
      ["balancer", "share to the slow origin", "p50 (ms)", "p99 (ms)", "req/s", "errors", "share per round"],
      so.rows.map((x) => [`\`${x.kind}\``, `${f(x.slowShare * 100, 1)}%`, f(x.p50, 2), f(x.p99, 2), f(x.rps), String(x.errors), x.shareRounds.map((v) => f(v, 3)).join(" / ")]),
    ));
    out.push("");
    out.push(`Three origins, one answering ${so.config.slowMs} ms later; ${so.config.rounds} interleaved round(s) of ${so.config.seconds} s per balancer at ${so.config.connections} connections (${so.config.generator}); medians over rounds. Round-robin's share is a third by construction.`);
    out.push("");
  }

  const rg = r.scenarios.registry;
  out.push("## 4. Registry scale");
  out.push("");
  if (rg?.routeMatch) {
    out.push(table(["measure", "value"], [
      ["services × instances (seeded through the API)", `${rg.services} × ${rg.instancesPerService}`],
      ["routes in the KV route index", String(rg.routesInIndex)],
      [`route match, ${rg.routeMatch.routes} path-prefix routes`, `${f(rg.routeMatch.nsPerLookup.pathOnly)} ns / lookup`],
      [`route match, ${rg.routeMatch.hostTableRoutes} host + wildcard routes`, `${f(rg.routeMatch.nsPerLookup.hostAndPath)} ns / lookup`],
      [`same lookups inside workerd (CPU time)`, `${f(rg.routeMatch.workerd?.nsPerLookup.pathOnly)} / ${f(rg.routeMatch.workerd?.nsPerLookup.hostAndPath)} ns / lookup`],
      ["route table build (10k routes)", `${f(rg.routeMatch.buildMs, 2)} ms`],
      ["10-instance snapshot", `${rg.sizes.snapshotJsonBytes} B JSON, ${rg.sizes.snapshotHeapBytes} B heap`],
      ["route index (all KV shards)", `${f(rg.sizes.routeIndexJsonBytes / 1024, 1)} KiB JSON in ${rg.sizes.routeShards ?? 1} key(s), ${f(rg.sizes.indexParsedHeapBytes / 1024, 0)} KiB heap parsed`],
      ["KV written per service change (largest shard + version key)", rg.sizes.largestShardJsonBytes === undefined ? "n/a" : `${f(rg.sizes.largestShardJsonBytes / 1024, 1)} KiB`],
      [`create one service: the first ${rg.seeding.createMs?.samples ?? "?"} / the last ${rg.seeding.createMs?.samples ?? "?"} (median)`, rg.seeding.createMs === undefined ? "n/a" : `${f(rg.seeding.createMs.first, 1)} ms / ${f(rg.seeding.createMs.last, 1)} ms`],
      ["route index + table + service map in an isolate", `${f(rg.sizes.routesLoadedHeapBytes / 1024, 0)} KiB heap`],
      ["parse route index / build table (Node)", `${f(rg.sizes.routeIndexParseMs, 2)} ms / ${f(rg.sizes.routeTableBuildMs, 2)} ms`],
      ["first request after restart (cold isolate: KV index + table + cold DO + snapshot)", `${f(rg.coldLoad.coldIsolateFirstRequestMs, 2)} ms`],
      ["first request to another service (warm isolate, cold DO + snapshot RPC)", `${f(rg.coldLoad.coldServiceInWarmIsolateMs, 2)} ms`],
      ["warm request", `${f(rg.coldLoad.warmRequestMs, 2)} ms`],
      [`seeding: services / instances (${rg.seeding.concurrency ?? 16} concurrent)`, `${f(rg.seeding.servicesMs / 1000, 1)} s / ${f(rg.seeding.instancesMs / 1000, 1)} s (${f(rg.seeding.registrationsPerSecond)} registrations/s across DOs)`],
      ["seeding: workerd CPU per create / per registration (mesh, DOs, Miniflare's KV and cache)", rg.seeding.workerdCpuMs === undefined ? "n/a" : `${f(rg.seeding.workerdCpuMs.perCreate, 2)} ms / ${f(rg.seeding.workerdCpuMs.perRegistration, 2)} ms`],
      ...(rg.seeding.workerdCpuMs?.perHeartbeat === undefined
        ? []
        : [[
            `for comparison, workerd CPU per repeat registration (no KV write) / heartbeat (KV read + SQLite write) / bare API call (${rg.seeding.workerdCpuMs.floorSample} calls each)`,
            `${f(rg.seeding.workerdCpuMs.perRepeatRegistration, 2)} ms / ${f(rg.seeding.workerdCpuMs.perHeartbeat, 2)} ms / ${f(rg.seeding.workerdCpuMs.perBareCall, 2)} ms`,
          ]]),
    ]));
    out.push("");
    out.push(`Route matching: src/core/routes/route-table.ts bundled for ${rg.routeMatch.runtime}, ${rg.routeMatch.iterations.toLocaleString("en-US")} timed lookups per table, and the same workload in workerd charged by process CPU time (${rg.routeMatch.workerd?.lookups.toLocaleString("en-US")} lookups) (90% hits with extra path segments, 10% misses). Cold loads: median of ${rg.coldLoad.restarts} restart(s) of workerd on persisted state; ${rg.coldLoad.note}.`);
  } else out.push("not measured");
  out.push("");

  const cp = r.scenarios.controlPlane;
  out.push("## 5. Control-plane throughput (one service DO)");
  out.push("");
  if (cp?.registrations) {
    out.push(table(["operation", "per second", "ok", "failed", "p50", "p99"], [
      ["registration (new URL: SQLite row + KV mirror write)", f(cp.registrations.perSecond), String(cp.registrations.ok), String(cp.registrations.failed), `${f(cp.registrations.p50Ms, 2)} ms`, `${f(cp.registrations.p99Ms, 2)} ms`],
      ["heartbeat (one SQLite column)", f(cp.heartbeats.perSecond), String(cp.heartbeats.ok), String(cp.heartbeats.failed), `${f(cp.heartbeats.p50Ms, 2)} ms`, `${f(cp.heartbeats.p99Ms, 2)} ms`],
    ]));
    out.push("");
    out.push(`${cp.concurrency} concurrent keep-alive clients, ${cp.seconds} s per phase${cp.registrations.hitCap ? `; the registration phase ended when the DO refused member ${cp.registrations.membersAtCap + 1} (409, its per-service cap), and its rate is over the time until then` : ""}. Each call also authenticates (KV read of the service record + SHA-256 of the token) in the Worker before reaching the DO.`);
  } else out.push("not measured");
  out.push("");

  const b = r.scenarios.bundle;
  out.push("## 6. Bundle");
  out.push("");
  if (b?.asShipped) {
    out.push(table(["build", "raw", "gzip (wrangler)", "gzip -9 (ours)"], [
      ["as shipped (`wrangler deploy --dry-run`)", `${f(b.asShipped.rawBytes / 1024, 1)} KiB`, `${f(b.asShipped.wranglerGzipKiB, 2)} KiB`, `${f(b.asShipped.gzipBytes / 1024, 1)} KiB`],
      ["with --minify", `${f(b.minified.rawBytes / 1024, 1)} KiB`, `${f(b.minified.wranglerGzipKiB, 2)} KiB`, `${f(b.minified.gzipBytes / 1024, 1)} KiB`],
    ]));
    out.push("");
    out.push("Largest contributors (bytes in the unminified output, esbuild metafile):");
    out.push("");
    out.push(table(["module", "KiB", "share"], b.asShipped.modules.map((x) => [x.module, f(x.bytes / 1024, 1), `${f(x.share * 100, 1)}%`])));
  } else out.push("not measured");
  out.push("");

  const rb = r.scenarios.retryBudget;
  out.push("## 7. Retry amplification (retry budget)");
  out.push("");
  if (rb?.rows) {
    out.push(table(["retry.budget", "attempts", "client requests", "upstream tries", "upstream ÷ client", "bound"], rb.rows.map((x) => [
      x.budget, String(x.attempts), String(x.clientRequests), String(x.upstreamTries), `${f(x.amplification, 3)}×`, `${f(x.bound, 3)}×`,
    ])));
    out.push("");
    out.push(`Every origin answers 503; ${rb.concurrency} closed-loop clients for ${f(rb.durationMs / 1000)} s per row (scripts/bench/scenarios/retry-budget.mjs, \`--only budget\`). Upstream tries are the origins' own counts. The bound with the budget is 1 + percent + the floor (10 retries/s per 10 s window the run touches) ÷ client requests; without it, \`attempts\`.`);
  } else out.push("not measured");
  out.push("");
  out.push(...routersSection(r.scenarios.routers), ...flowSection(r.scenarios.flow));
  return `${out.join("\n")}\n`;
}

/** @param {import("./result.mjs").RoutersScenario | undefined} rs @returns {string[]} */
function routersSection(rs) {
  const out = ["## 8. Coordinator load as routers grow (issue 13 §3)", ""];
  if (!rs?.rows) return [...out, "not measured", ""];
  const counts = [...new Set(rs.rows.map((x) => x.routers))];
  /** @param {number} n @param {string} sharing */
  const at = (n, sharing) => rs.rows.find((x) => x.routers === n && x.sharing === sharing);
  out.push(table(["routers", "req/s", "snapshot RPCs/s, copy off", "snapshot RPCs/s, location copy", "report RPCs/s (off / copy)", "client errors"], counts.map((n) => {
    const off = at(n, "off");
    const on = at(n, "cache");
    return [String(n), f(on?.requestsPerSecond ?? off?.requestsPerSecond, 1), f(off?.snapshotRpcsPerSecond, 2), f(on?.snapshotRpcsPerSecond, 2), `${f(off?.reportRpcsPerSecond, 2)} / ${f(on?.reportRpcsPerSecond, 2)}`, String((off?.clientErrors ?? 0) + (on?.clientErrors ?? 0))];
  })));
  out.push("");
  const fo = (/** @type {string} */ k) => rs.failover[k];
  const last = counts.at(-1);
  out.push(`Each router is its own Worker (${rs.note}), ${rs.perRouterRps} req/s each for ${rs.seconds} s per row; RPC rates are the coordinator's own counters. SNAPSHOT_SHARING "off": every router refreshes its snapshot from the coordinator; "cache": one refresh per location writes a short-lived copy through the Cache API that the others read.`);
  out.push("");
  if (fo("off") && fo("cache")) {
    out.push(`Failover at ${last} routers, one of 3 origins killed: the last request that needed a retry came ${f(fo("cache")?.lastRetryAfterKillMs)} ms after the kill with the location copy (${fo("cache")?.clientErrors} client errors) and ${f(fo("off")?.lastRetryAfterKillMs)} ms without it (${fo("off")?.clientErrors} client errors).`);
    out.push("");
  }
  return out;
}

/** @param {import("./result.mjs").FlowScenario | undefined} fl @returns {string[]} */
function flowSection(fl) {
  const out = ["## 9. Flow control (rate limits)", ""];
  if (!fl?.rateLimit) return [...out, "not measured", ""];
  out.push(table(["scope", "offered", "admitted", "error", "tolerance", "refused", "other", "limiter RPCs per 1,000 requests"], fl.rateLimit.map((x) => [
    x.scope, `${x.factor}× (${f(x.offeredPerSecond)}/s)`, `${f(x.admittedPerSecond, 1)}/s`, `${f(x.errorPercent, 1)} %`, `±${f(x.tolerancePercent)} %`, String(x.refused), String(x.other), x.rpcsPer1000 === null ? "—" : f(x.rpcsPer1000, 1),
  ])));
  out.push("");
  out.push(`A limit of ${fl.rate}/s (burst ${fl.burst}) on one service, offered 2× and 4× its rate for ${f(fl.durationMs / 1000)} s; "admitted" counts the origin's own arrivals over the span of the run.${fl.cpu ? ` One isolate-scoped limit adds ${f(fl.cpu.usAddedPerRequest, 2)} µs of CPU per request (${fl.cpu.method}).` : ""}`);
  out.push("");
  return out;
}
