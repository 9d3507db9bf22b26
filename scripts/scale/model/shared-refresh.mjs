// @ts-check
// The built shared snapshot refresh (src/edge/cache/snapshot-cache.ts and
// location-copy.ts, SNAPSHOT_SHARING = "cache", the default): coordinator
// snapshot RPCs per second from ONE location for ONE service. Pure; time and
// randomness are parameters.
//
// The rule in the code: isolate j refreshes once its snapshot is TTL − lead_j
// old (lead_j uniform in [0, spread), drawn once per isolate), at its next
// request. An isolate that adopted the location's copy counts the age from the
// copy's fetch, so every isolate's due time hangs off the same instant F, the
// last copy's fetch. Relative to F + TTL, isolate j starts its refresh at
// X_j = W_j − lead_j, W_j its wait for the next request (Poisson: Exp(λ),
// memoryless, so this holds whatever copy j holds). The first to start finds
// the copy stale and claims the refresh (src/core/location-share/
// refresh-claim.ts): it puts a claim, waits the settle time, reads it back and
// asks the coordinator; every isolate that starts meanwhile follows the claim
// and adopts the copy once it lands. So one isolate asks per cycle (exactly
// one while a cache call takes less than the settle wait), and the next cycle
// hangs off the new fetch, `window` after the first start (the claim's cache
// calls, the settle wait and the RPC):
//
//   RPCs/s = 1 / (TTL + E[min_j X_j] + window)
//   E[min X] = −spread + ∫_{−spread}^∞ (1 − G(x))^n dx
//
// with G the distribution of W − lead. Evaluated by the trapezoidal rule on a
// fixed grid, so the answer is deterministic.

/** Grid points per piece of the integration range (the pieces split at the integrands' kinks). */
const STEPS = 2_000;

/**
 * @typedef {{ isolates: number, rate: number, ttlS: number, spreadS: number, windowS: number }} SharedRefreshInputs
 *   isolates: the location's isolates serving the service; rate: requests/s each gets for it (Poisson);
 *   ttlS: SNAPSHOT_TTL_MS; spreadS: SHARE_SPREAD_MS; windowS: from the first isolate's refresh start until the
 *   coordinator answers it (claimWindowS).
 * @typedef {{ rpcsPerS: number, askersPerCycle: number, cycleS: number }} SharedRefresh
 */

// A trickle of traffic makes λx tiny, and 1 − e^(−λx) written as a subtraction rounds to 0 or to a multiple of
// 2^-53 below λx ≈ 1e-16: the CDF then passed 1 and (1 − G)^n overflowed to NaN at 100,000 isolates of 1e-14
// requests/s each (`npm run scale-model` printed NaN). Hence Math.expm1, and a series where even that cancels.

/** 1 − e^(−u), exact to rounding for small u too. @param {number} u */
const oneMinusExp = (u) => -Math.expm1(-u);

/**
 * 1 − (1 − e^(−u)) / u, the share of a lead interval already waited out; its terms cancel for small u,
 * so there the series u/2 − u²/6 + u³/24 − u⁴/120 (the next term is below 2e-15 of the sum at u < 1e-3).
 * @param {number} u
 */
function waitedShare(u) {
  if (u < 1e-3) return u * (1 / 2 - u * (1 / 6 - u * (1 / 24 - u / 120)));
  return 1 - oneMinusExp(u) / u;
}

/**
 * Distribution of X = W − L, W ~ Exp(λ), L ~ U(0, S): P(X ≤ x).
 * @param {number} x @param {number} lambda @param {number} s
 */
export function leadWaitCdf(x, lambda, s) {
  if (s === 0) return x <= 0 ? 0 : oneMinusExp(lambda * x);
  if (x <= -s) return 0;
  if (x < 0) return ((s + x) * waitedShare(lambda * (s + x))) / s;
  return 1 - (Math.exp(-lambda * x) * oneMinusExp(lambda * s)) / (lambda * s);
}

/**
 * ∫ g over [a, b], trapezoidal rule on STEPS intervals per piece, the pieces split at `kinks`.
 * @param {(x: number) => number} g @param {number} a @param {number} b @param {number[]} kinks
 */
function integrate(g, a, b, kinks) {
  const points = [a, ...kinks.filter((k) => k > a && k < b).sort((p, q) => p - q), b];
  let sum = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const lo = points[i] ?? a;
    const h = ((points[i + 1] ?? b) - lo) / STEPS;
    let piece = (g(lo) + g(lo + STEPS * h)) / 2;
    for (let k = 1; k < STEPS; k++) piece += g(lo + k * h);
    sum += piece * h;
  }
  return sum;
}

/**
 * Coordinator snapshot RPCs per second from one location, for one service, under the built shared refresh.
 * @param {SharedRefreshInputs} p
 * @returns {SharedRefresh}
 */
export function sharedRefreshRate({ isolates: n, rate: lambda, ttlS, spreadS: s, windowS: w }) {
  if (lambda <= 0 || n <= 0) return { rpcsPerS: 0, askersPerCycle: 0, cycleS: Number.POSITIVE_INFINITY };
  // (1 − G)^n falls as e^(−nλx) past 0: 40 / (nλ) leaves less than e^-40 of it.
  const end = 40 / (n * lambda);
  const minX = -s + integrate((x) => (1 - leadWaitCdf(x, lambda, s)) ** n, -s, end, [0]);
  const cycleS = ttlS + minX + w;
  return { rpcsPerS: 1 / cycleS, askersPerCycle: 1, cycleS };
}

/**
 * The shared refresh's window: the first isolate's claim (a read of the copy, a read of the claim, a put, the
 * settle wait, a read back), then its RPC. The copy lands one put later, but is stamped with the RPC's answer.
 * @param {{ rttS: number, cacheOpS: number, settleS: number }} p
 */
export function claimWindowS({ rttS, cacheOpS, settleS }) {
  return 4 * cacheOpS + settleS + rttS;
}

/**
 * How old a follower's snapshot is when it adopts the claimer's copy, past the TTL (the claimer started at most a
 * TTL after the last fetch): the claimer's two reads, then the first of the claim's poll points at or after its copy
 * lands (put, settle, read back, round trip, put), then the follower's read. A copy later than the claim's last
 * point is met by the second round's claimer, whose poll points count from its own claim, just after the lapse.
 * @param {{ rttMs: number, cacheOpMs: number, settleMs: number, pollsMs: readonly number[] }} p
 */
export function followerLagMs({ rttMs, cacheOpMs, settleMs, pollsMs }) {
  const lands = 3 * cacheOpMs + settleMs + rttMs;
  const last = pollsMs.at(-1) ?? 0;
  const first = pollsMs.find((p) => p >= lands);
  if (first !== undefined) return 2 * cacheOpMs + first + cacheOpMs;
  // Second round: the new claim is put two reads after the lapse.
  const second = last + 2 * cacheOpMs;
  const next = pollsMs.find((p) => second + p >= lands);
  return 2 * cacheOpMs + (next === undefined ? second + last + claimWindowS({ rttS: rttMs, cacheOpS: cacheOpMs, settleS: settleMs }) : second + next) + cacheOpMs;
}

/**
 * The same rule played out cycle by cycle for one draw of leads: what one run of
 * N routers sees (the leads are drawn once per isolate, so runs differ).
 * `arrivals` "poisson" draws each wait; "lockstep" sends every isolate its
 * requests at the same instants, every 1/rate s (as the bench's n-routers
 * scenario does), with the grid's phase against the copy's fetch uniform per
 * cycle (timer jitter moves it by more than the tick).
 * @param {SharedRefreshInputs & { arrivals: "poisson" | "lockstep", cycles: number, random: () => number }} p
 * @returns {number} RPCs per second
 */
export function simulateSharedRefresh({ isolates, rate, ttlS, spreadS, windowS, arrivals, cycles, random }) {
  if (rate <= 0 || isolates <= 0) return 0;
  const leads = Array.from({ length: isolates }, () => random() * spreadS);
  const tick = 1 / rate;
  let fetchedAt = 0;
  let asks = 0;
  for (let c = 0; c < cycles; c++) {
    const phase = random() * tick;
    const starts = leads.map((lead) => {
      const due = fetchedAt + ttlS - lead;
      if (arrivals === "lockstep") return fetchedAt + phase + Math.ceil((due - fetchedAt - phase) / tick) * tick;
      return due - Math.log(1 - random()) / rate;
    });
    const first = Math.min(...starts);
    // The first claims; every other isolate starts after its claim is visible, or adopts its copy.
    asks += 1;
    fetchedAt = first + windowS;
  }
  return asks / fetchedAt;
}

/**
 * A seeded pseudo-random source (mulberry32), so a simulation is repeatable.
 * @param {number} seed
 * @returns {() => number}
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
