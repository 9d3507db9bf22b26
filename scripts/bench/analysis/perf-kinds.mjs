// @ts-check
// What `perf report --no-children --sort sym` says about a workerd process,
// grouped by the kind of code: JavaScript the isolate compiled, V8's runtime
// and builtins, garbage collection, workerd's bindings and API, KJ's event
// loop and I/O, allocation, the kernel. Pure: scripts/bench/perf-kinds.mjs
// runs perf and feeds the text here. The V8 sampling profiler cannot split a
// per-request difference of a few tens of µs (its own overhead is larger);
// counting every thread of the process by symbol can (docs/performance.md).

/** @typedef {"jit" | "v8 builtins" | "v8 runtime" | "gc" | "bindings (jsg)" | "headers" | "workerd api" | "kj" | "malloc" | "sqlite" | "kernel" | "other"} Kind */

/** The kinds, in the order the table prints them. @type {readonly Kind[]} */
export const KINDS = ["jit", "v8 builtins", "v8 runtime", "gc", "bindings (jsg)", "headers", "workerd api", "kj", "malloc", "sqlite", "kernel", "other"];

/**
 * The kind of one symbol as perf prints it ("[.] name" for user space, "[k] name" for the kernel).
 * @param {string} symbol
 * @returns {Kind}
 */
export function kindOf(symbol) {
  const kernel = symbol.startsWith("[k]");
  const s = symbol.replace(/^\[[.k]\]\s*/, "");
  if (kernel) return "kernel";
  // JIT code has no symbol without --perf-basic-prof: perf shows an address or the JIT map.
  if (/^0x[0-9a-f]+$/i.test(s) || s.includes("[JIT]") || s.startsWith("JS:") || s.startsWith("LazyCompile:")) return "jit";
  if (/scaveng|mark-compact|markcompact|\bheap::|cppgc|concurrentmark|sweeper|evacuat/i.test(s)) return "gc";
  if (s.startsWith("Builtins_")) return "v8 builtins";
  if (s.startsWith("v8::")) return "v8 runtime";
  if (/tcmalloc|^malloc|^free$|^operator new|^operator delete|TCMalloc/i.test(s)) return "malloc";
  if (/sqlite/i.test(s)) return "sqlite";
  if (/Headers|getHeaderKeyFor|HttpHeader/.test(s)) return "headers";
  if (s.startsWith("workerd::jsg")) return "bindings (jsg)";
  if (s.startsWith("workerd::")) return "workerd api";
  if (s.startsWith("kj::")) return "kj";
  return "other";
}

/**
 * Sums the percentages of `perf report --stdio --no-children --sort sym` by kind.
 * Lines that are not sample lines (headers, blank lines, call-graph branches) are skipped.
 * @param {string} text
 * @returns {Record<Kind, number>} percent of the samples, by kind
 */
export function percentByKind(text) {
  /** @type {Record<Kind, number>} */
  const out = /** @type {Record<Kind, number>} */ (Object.fromEntries(KINDS.map((k) => [k, 0])));
  for (const line of text.split("\n")) {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)%\s+(\[[.k]\]\s+.*)$/.exec(line);
    if (m === null || m[1] === undefined || m[2] === undefined) continue;
    out[kindOf(m[2].trim())] += Number(m[1]);
  }
  return out;
}

/**
 * µs per request by kind: the process's CPU per request, shared out by the kinds' sample shares.
 * @param {Record<Kind, number>} percent @param {number} cpuUsPerRequest
 * @returns {Record<Kind, number>}
 */
export function usPerRequestByKind(percent, cpuUsPerRequest) {
  const total = KINDS.reduce((t, k) => t + percent[k], 0);
  return /** @type {Record<Kind, number>} */ (Object.fromEntries(KINDS.map((k) => [k, total > 0 ? (percent[k] / total) * cpuUsPerRequest : 0])));
}
