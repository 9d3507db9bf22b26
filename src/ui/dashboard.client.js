// @ts-check
// The dashboard's entry: the admin token, the poll loop, the API calls. It
// polls GET /_mesh/v1/services, then each service's view and stats, every
// POLL_MS while the tab is visible (a hidden tab spends none of the admin
// token's rate budget, docs/api.md "Limits").
import { observeInstances, retryWaitMs } from "./model.client.js";
import { renderService } from "./render.client.js";

/** @typedef {import("./model.client.js").ServiceDetail} ServiceDetail */
/** @typedef {import("./model.client.js").ServiceStats} ServiceStats */
/** @typedef {import("./model.client.js").InstanceTrack} InstanceTrack */

const POLL_MS = 5000;
// sessionStorage: the token lives as long as this tab, is never shared with
// other tabs, and never goes into a URL (so no history, no referrer, no logs).
const TOKEN_KEY = "switchyard.adminToken";
// Services fetched at once (two calls each), and the pacing of inBatches.
const PARALLEL = 4;
const BURST_BATCHES = 4;
const PACED_BATCH_MS = 500;
// State changes read out one by one per poll; more are counted (announcement).
const ANNOUNCED = 3;

/** @param {string} id */
function byId(id) {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no #${id}`);
  return e;
}

const login = byId("login");
const form = /** @type {HTMLFormElement} */ (byId("token-form"));
const tokenInput = /** @type {HTMLInputElement} */ (byId("token"));
const loginError = byId("login-error");
const board = byId("board");
const servicesEl = byId("services");
const statusEl = byId("status");
const announcer = byId("announcer");
const precisionEl = byId("precision");
const windowSelect = /** @type {HTMLSelectElement} */ (byId("window"));
const refreshButton = byId("refresh");
const signOutButton = byId("sign-out");

/** @type {Map<string, Map<string, InstanceTrack>>} */
const tracks = new Map();
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
/** When the next poll is due (ms): a tab coming back into view waits for it, so a 429's Retry-After holds. */
let nextPollAt = 0;
/**
 * One per sign-in. Signing out (or a 401) aborts it: a poll still under way
 * (seconds long on a mesh with many services) sends nothing more and renders
 * nothing, instead of carrying on without a token into a false "refused" 401.
 */
let session = new AbortController();
/** @type {AbortSignal | null} the session whose poll is under way */
let pollingFor = null;

class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {string | null} retryAfter the header, as sent */
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * One API call with the token; the caller says what shape the JSON has.
 * @param {string} path
 * @param {AbortSignal} signal the session's
 * @returns {Promise<unknown>}
 */
async function call(path, signal) {
  signal.throwIfAborted();
  const token = sessionStorage.getItem(TOKEN_KEY) ?? "";
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: "no-store", signal });
  /** @type {unknown} */
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's error page, say): the status says enough.
  }
  if (res.ok) return body;
  const err = /** @type {{ error?: string, message?: string } | null} */ (body);
  throw new ApiError(res.status, err?.error ?? `http_${res.status}`, err?.message ?? res.statusText, res.headers.get("retry-after"));
}

/** @param {string} message */
function showLogin(message) {
  clearTimeout(timer);
  session.abort();
  session = new AbortController();
  sessionStorage.removeItem(TOKEN_KEY);
  // The status line sits above the form too: "Loading…" or "Refreshes every 5 s" would be false here.
  statusEl.textContent = "Not signed in.";
  delete statusEl.dataset["state"];
  board.hidden = true;
  login.hidden = false;
  loginError.textContent = message;
  tokenInput.value = "";
  tokenInput.focus();
}

/**
 * What a failed call says on the page. A 401 (the token is wrong for every
 * service) and a 429 (the token's whole budget is spent) are the poll's
 * business, so they are thrown on; anything else is about this one service.
 * @param {unknown} err
 */
function problemOf(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 429)) throw err;
  return err instanceof ApiError ? `${err.status} ${err.code}` : String(err);
}

/**
 * One service's view and stats. The stats are optional: a mesh without them,
 * or a stats call that fails, still shows the live instance states. A view
 * that fails (its coordinator is down, say) is shown as that service's
 * problem: it must not take the other services off the page.
 * @param {string} name
 * @param {AbortSignal} signal
 */
async function loadService(name, signal) {
  const path = `/_mesh/v1/services/${encodeURIComponent(name)}`;
  const [detail, stats] = await Promise.all([
    call(path, signal).then(
      (d) => ({ detail: /** @type {ServiceDetail} */ (d), problem: /** @type {string | null} */ (null) }),
      (/** @type {unknown} */ err) => ({ detail: null, problem: problemOf(err) }),
    ),
    call(`${path}/stats?window=${encodeURIComponent(windowSelect.value)}`, signal).then(
      (s) => ({ stats: /** @type {ServiceStats} */ (s), problem: /** @type {string | null} */ (null) }),
      (/** @type {unknown} */ err) => {
        // A 429 here only costs this service its statistics (as before): the instance states still show.
        if (err instanceof ApiError && err.status === 429) return { stats: null, problem: `${err.status} ${err.code}` };
        return { stats: null, problem: problemOf(err) };
      },
    ),
  ]);
  return { name, detail: detail.detail, detailProblem: detail.problem, stats: stats.stats, statsProblem: stats.problem };
}

/**
 * Runs `fn` over `items`, PARALLEL at a time. The admin token's limit is
 * 20 calls/s with a burst of 40 (docs/api.md, "Limits"), and each service
 * costs two calls: the first BURST_BATCHES batches spend the burst, later ones
 * take at least PACED_BATCH_MS each (16 calls/s), so a mesh with many services
 * is polled more slowly instead of meeting 429s.
 * @template T, R
 * @param {T[]} items
 * @param {(item: T) => Promise<R>} fn
 * @param {AbortSignal} signal stops before the next batch
 * @returns {Promise<R[]>}
 */
async function inBatches(items, fn, signal) {
  /** @type {R[]} */
  const out = [];
  for (let i = 0, batch = 0; i < items.length; i += PARALLEL, batch++) {
    signal.throwIfAborted();
    const started = Date.now();
    out.push(...(await Promise.all(items.slice(i, i + PARALLEL).map(fn))));
    const rest = PACED_BATCH_MS - (Date.now() - started);
    if (batch + 1 >= BURST_BATCHES && rest > 0) await new Promise((r) => setTimeout(r, rest));
  }
  return out;
}

/** @param {string} name */
function sectionFor(name) {
  for (const s of servicesEl.children) if (s instanceof HTMLElement && s.dataset["service"] === name) return s;
  const s = document.createElement("section");
  s.className = "service";
  s.dataset["service"] = name;
  return s;
}

/**
 * A polite live region is read out in full: a mass change (a deploy, an
 * outage) must not queue minutes of speech, so past ANNOUNCED it names a few
 * and counts the rest; the table shows every one.
 * @param {string[]} news
 */
function announcement(news) {
  if (news.length <= ANNOUNCED) return news.join("; ");
  return `${news.length} state changes, including ${news.slice(0, ANNOUNCED).join("; ")}.`;
}

async function poll() {
  const { signal } = session;
  if (pollingFor === signal) return;
  pollingFor = signal;
  clearTimeout(timer);
  let next = POLL_MS;
  try {
    const list = /** @type {{ services: { name: string }[], unreadable?: string[] }} */ (await call("/_mesh/v1/services", signal));
    // A damaged record is listed apart; its view then fails with 500 record_unreadable, which its section shows.
    const names = [...list.services.map((s) => s.name), ...(list.unreadable ?? [])].sort();
    const views = await inBatches(names, (name) => loadService(name, signal), signal);
    // Signed out while the last batch was out: its answers are not shown.
    signal.throwIfAborted();
    const now = Date.now();
    const news = [];
    const sections = [];
    for (const v of views) {
      let t = tracks.get(v.name);
      if (t === undefined) {
        /** @type {Map<string, InstanceTrack>} */
        const fresh = new Map();
        tracks.set(v.name, fresh);
        t = fresh;
      }
      // No view this poll: the page keeps what it saw (the next good poll measures across the gap).
      if (v.detail !== null) {
        for (const { id, transition } of observeInstances(t, v.detail.instances, now)) news.push(`${v.name} ${id}: ${transition.from} → ${transition.to}`);
      }
      const section = sectionFor(v.name);
      renderService(section, { ...v, tracks: t, now });
      sections.push(section);
    }
    for (const name of [...tracks.keys()]) if (!names.includes(name)) tracks.delete(name);
    servicesEl.replaceChildren(...sections);
    if (names.length === 0) servicesEl.append(Object.assign(document.createElement("p"), { textContent: "No services yet." }));
    if (news.length > 0) announcer.textContent = announcement(news);
    // The same sentence for every service (it follows from the bucket layout), so it is said once, under the controls.
    const precision = views.find((v) => v.stats?.percentileError !== undefined)?.stats?.percentileError;
    precisionEl.textContent = precision === undefined ? "" : `Percentiles are approximate. ${precision}`;
    statusEl.textContent = `Updated ${new Date(now).toLocaleTimeString()}: ${names.length} service${names.length === 1 ? "" : "s"}. Refreshes every ${POLL_MS / 1000} s.`;
    statusEl.dataset["state"] = "ok";
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof ApiError && err.status === 401) {
      showLogin("The mesh refused that token (401). Enter the admin token again.");
      return;
    }
    if (err instanceof ApiError && err.status === 429) next = retryWaitMs(err.retryAfter, POLL_MS);
    statusEl.textContent = `Update failed at ${new Date().toLocaleTimeString()}: ${err instanceof ApiError ? `${err.status} ${err.code}: ${err.message}` : String(err)}. Retrying in ${next / 1000} s.`;
    statusEl.dataset["state"] = "error";
  } finally {
    if (pollingFor === signal) pollingFor = null;
  }
  nextPollAt = Date.now() + next;
  if (!document.hidden && login.hidden) timer = setTimeout(() => void poll(), next);
}

function start() {
  login.hidden = true;
  board.hidden = false;
  statusEl.textContent = "Loading…";
  void poll();
}

form.addEventListener("submit", (e) => {
  // Never let the browser submit the form: the token must not travel anywhere but the Authorization header.
  e.preventDefault();
  const token = tokenInput.value.trim();
  if (token === "") {
    loginError.textContent = "Enter the admin token (MESH_ADMIN_TOKEN).";
    return;
  }
  // fetch throws on a header value outside Latin-1 (a pasted zero-width space,
  // say), and bearerToken on the mesh refuses inner whitespace: such a token
  // could never work, so it is refused here rather than retried every poll.
  if (/[^\x21-\x7e\x80-\xff]/.test(token)) {
    tokenInput.value = "";
    loginError.textContent = "That token has a character an HTTP header cannot carry (a space, or an invisible character picked up when pasting). Enter the admin token again.";
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  tokenInput.value = "";
  loginError.textContent = "";
  start();
});
refreshButton.addEventListener("click", () => void poll());
windowSelect.addEventListener("change", () => void poll());
signOutButton.addEventListener("click", () => {
  tracks.clear();
  servicesEl.replaceChildren();
  showLogin("");
});
document.addEventListener("visibilitychange", () => {
  clearTimeout(timer);
  if (document.hidden || !login.hidden) return;
  const wait = nextPollAt - Date.now();
  if (wait <= 0) void poll();
  else timer = setTimeout(() => void poll(), wait);
});

if (sessionStorage.getItem(TOKEN_KEY) === null) showLogin("");
else start();
