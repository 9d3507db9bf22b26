// The targets, checked against one run's results. Each entry says what
// was measured and whether the target holds; a scenario that did not run (or
// failed) yields "not measured" rather than a pass.

const fmt = (v, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : Number(v).toFixed(d));

export function evaluateTargets(r) {
  const t = [];
  const add = (scenario, target, measured, pass) => t.push({ scenario, target, measured, pass: measured === "not measured" ? null : pass });
  const steady = r.scenarios.steady;
  if (steady?.rows) {
    const row = (id) => steady.rows.find((x) => x.id === id);
    const snap = row("snapshot");
    const strict = row("strict");
    const origin = row("origin");
    add("1 steady", "snapshot req/s ≥ 0.95× pass-through", `${fmt(snap.rpsVsPassthrough, 3)}×`, snap.rpsVsPassthrough >= 0.95);
    add("1 steady", "snapshot p50 added ≤ 0.2 ms (1 connection)", `${fmt(snap.p50AddedMs, 3)} ms`, snap.p50AddedMs <= 0.2);
    add("1 steady", "strict req/s ≥ 0.75× pass-through", `${fmt(strict.rpsVsPassthrough, 3)}×`, strict.rpsVsPassthrough >= 0.75);
    add("1 steady", "generator vs origin ≥ several× the mesh (we ask 3×)", `${fmt(origin.throughput.rps / snap.throughput.rps, 1)}×`, origin.throughput.rps >= 3 * snap.throughput.rps);
  } else {
    add("1 steady", "snapshot ≥ 0.95×, p50 +≤ 0.2 ms, strict ≥ 0.75×", "not measured", null);
  }
  const fo = r.scenarios.failover;
  if (fo?.runs) {
    for (const run of fo.runs) {
      add("2 failover", `${run.fault}: 0 client errors (GET)`, String(run.clientErrors), run.clientErrors === 0);
      add("2 failover", `${run.fault}: last request to the faulty origin ≤ 1 s after the fault`, `${fmt(run.lastToFaultyMs, 0)} ms`, run.lastToFaultyMs !== null && run.lastToFaultyMs <= 1000);
      add("2 failover", `${run.fault}: traffic again ≤ ${fo.restoreTargetMs} ms after restore`, `${fmt(run.restoreToTrafficMs, 0)} ms`, run.restoreToTrafficMs !== null && run.restoreToTrafficMs <= fo.restoreTargetMs);
    }
  } else add("2 failover", "0 errors, ≤ 1 s to stop, restore ≤ target", "not measured", null);
  const hs = r.scenarios.health;
  if (hs?.sizes) {
    const biggest = hs.sizes.at(-1);
    add("3 health", `one alarm round over ${biggest.instances} instances < 10 s`, `${fmt(biggest.roundDurationMs, 0)} ms`, biggest.fitsIn10s);
  } else add("3 health", "one round < 10 s", "not measured", null);
  const reg = r.scenarios.registry;
  if (reg?.routeMatch) {
    const all = [reg.routeMatch.nsPerLookup.pathOnly, reg.routeMatch.nsPerLookup.hostAndPath, reg.routeMatch.workerd?.nsPerLookup.pathOnly, reg.routeMatch.workerd?.nsPerLookup.hostAndPath];
    const worst = Math.max(...all.filter((v) => typeof v === "number"));
    add("4 registry", `route match < 5 µs at ${reg.routeMatch.routes} routes (worst of Node and workerd)`, `${fmt(worst / 1000, 3)} µs`, worst < 5000);
  } else add("4 registry", "route match < 5 µs", "not measured", null);
  const b = r.scenarios.bundle;
  if (b?.asShipped) {
    const kib = (b.asShipped.wranglerGzipKiB ?? b.asShipped.gzipBytes / 1024);
    add("6 bundle", "gzipped bundle ≤ 100 KiB (as shipped)", `${fmt(kib, 1)} KiB`, kib <= 100);
  } else add("6 bundle", "≤ 100 KiB gzipped", "not measured", null);
  return t;
}
