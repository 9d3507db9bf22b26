/**
 * A strict reader of the Prometheus text exposition format 0.0.4, written for
 * the tests (the npm parser in test/unit is lenient: it folds a labelled
 * histogram's series and accepts a family split in two). It returns every
 * rule the text breaks instead of stopping at the first, so one assertion
 * shows them all. The rules are the format's (prometheus.io, "Exposition
 * formats"): names and label names by their grammar, label values with only
 * `\\`, `\"` and `\n` escaped, at most one HELP and one TYPE per family, both
 * before its samples, a family's samples in one run, no series twice, and for
 * histograms `le` buckets in increasing order ending in `+Inf`, cumulative,
 * with `_bucket{le="+Inf"}` equal to `_count`.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The value as written. */
  raw: string;
}

export interface Family {
  name: string;
  type: string;
  help: string | undefined;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
/** Go's ParseFloat as Prometheus applies it to a sample value (no hex, no underscores). */
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

function parseValue(raw: string): number {
  if (raw === "+Inf" || raw === "Inf") return Infinity;
  if (raw === "-Inf") return -Infinity;
  if (raw === "NaN") return Number.NaN;
  return Number(raw);
}

/** `{a="x",b="y"}` from `at` (its `{`): the labels and the index after `}`, or a problem. */
function readLabels(line: string, at: number): { labels: Record<string, string>; end: number } | string {
  const labels: Record<string, string> = {};
  let i = at + 1;
  while (line[i] !== "}") {
    const eq = line.indexOf("=", i);
    if (eq === -1) return "label without '='";
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith("__")) return `bad label name '${name}'`;
    if (name in labels) return `label '${name}' twice`;
    if (line[eq + 1] !== '"') return `label '${name}' value not quoted`;
    let value = "";
    let j = eq + 2;
    for (;;) {
      const c = line[j];
      if (c === undefined) return `label '${name}' value not closed`;
      if (c === '"') break;
      if (c === "\\") {
        const e = line[j + 1];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else return `label '${name}' has the escape '\\${e ?? ""}'`;
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i++;
    else if (line[i] !== "}") return `after label '${name}': '${line[i] ?? "end of line"}'`;
  }
  return { labels, end: i + 1 };
}

/** The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (families.get(base)?.type === "histogram") return base;
    }
  }
  return name;
}

const seriesKey = (s: Sample) => `${s.name}{${Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;

/** Every family of `text`, and every rule it breaks (empty when it is valid). */
export function parseStrict(text: string): { families: Map<string, Family>; problems: string[] } {
  const families = new Map<string, Family>();
  const problems: string[] = [];
  const seen = new Set<string>();
  /** Families whose run of samples has ended: a sample of one of them later is interleaved. */
  const closed = new Set<string>();
  let current: string | undefined;
  if (!text.endsWith("\n")) problems.push("the text does not end with a line feed");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { name, type: "untyped", help: undefined, samples: [] }));
    return f;
  };
  lines.forEach((line, n) => {
    const where = `line ${String(n + 1)}: ${line.slice(0, 120)}`;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // a plain comment
      const [, kind = "", name = "", rest = ""] = m;
      if (!METRIC_NAME.test(name)) problems.push(`${where}: bad metric name`);
      const f = families.get(name);
      if (f !== undefined && f.samples.length > 0) problems.push(`${where}: ${kind} after the family's samples`);
      if (kind === "TYPE") {
        if (f !== undefined && f.type !== "untyped") problems.push(`${where}: a second TYPE`);
        if (!TYPES.has(rest)) problems.push(`${where}: unknown type`);
        family(name).type = rest;
      } else {
        if (f?.help !== undefined) problems.push(`${where}: a second HELP`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) problems.push(`${where}: HELP has an escape other than \\\\ and \\n`);
        family(name).help = rest;
      }
      return;
    }
    if (line.trim() === "") {
      problems.push(`${where}: empty line`);
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    const name = nameEnd === -1 ? line : line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) problems.push(`${where}: bad metric name`);
    let labels: Record<string, string> = {};
    let rest = nameEnd === -1 ? "" : line.slice(nameEnd);
    if (rest.startsWith("{")) {
      const l = readLabels(line, nameEnd);
      if (typeof l === "string") {
        problems.push(`${where}: ${l}`);
        return;
      }
      labels = l.labels;
      rest = line.slice(l.end);
    }
    const parts = rest.split(" ");
    if (parts[0] !== "" || parts.length < 2 || parts.length > 3) {
      problems.push(`${where}: not 'name{labels} value [timestamp]'`);
      return;
    }
    const raw = parts[1] ?? "";
    if (!FLOAT.test(raw)) problems.push(`${where}: value '${raw}' is not a float`);
    const sample = { name, labels, value: parseValue(raw), raw };
    const fam = familyOf(name, families);
    if (fam !== current) {
      if (current !== undefined) closed.add(current);
      if (closed.has(fam)) problems.push(`${where}: a sample of ${fam} after another family's (interleaved)`);
      current = fam;
    }
    const key = seriesKey(sample);
    if (seen.has(key)) problems.push(`${where}: series ${key} twice`);
    seen.add(key);
    family(fam).samples.push(sample);
  });
  for (const f of families.values()) {
    if (f.type === "counter" && !f.name.endsWith("_total")) problems.push(`counter ${f.name} does not end in _total`);
    if (f.type === "histogram") problems.push(...histogramProblems(f));
    for (const s of f.samples) {
      if (f.type !== "histogram" && s.name !== f.name) problems.push(`${s.name} in family ${f.name}`);
      if (!Number.isFinite(s.value)) problems.push(`${seriesKey(s)} is ${s.raw}`);
      if ((f.type === "counter" || f.type === "histogram") && s.value < 0) problems.push(`${seriesKey(s)} is negative`);
    }
  }
  return { families, problems };
}

function histogramProblems(f: Family): string[] {
  const problems: string[] = [];
  const series = new Map<string, { buckets: Sample[]; sum?: Sample; count?: Sample }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = seriesKey({ ...s, name: f.name, labels: rest });
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) problems.push(`${seriesKey(s)}: bucket without le`);
      else entry.buckets.push(s);
    } else if (s.name === `${f.name}_sum`) entry.sum = s;
    else if (s.name === `${f.name}_count`) entry.count = s;
    else problems.push(`${s.name} in histogram ${f.name}`);
    if (s.name !== `${f.name}_bucket` && le !== undefined) problems.push(`${seriesKey(s)}: le outside a bucket`);
  }
  for (const [key, { buckets, sum, count }] of series) {
    const les = buckets.map((b) => parseValue(b.labels.le ?? ""));
    if (les.some((x) => Number.isNaN(x))) problems.push(`${key}: an le that is not a float`);
    for (let i = 1; i < buckets.length; i++) {
      if (!((les[i] ?? 0) > (les[i - 1] ?? 0))) problems.push(`${key}: le ${buckets[i]?.labels.le ?? ""} not above ${buckets[i - 1]?.labels.le ?? ""}`);
      if ((buckets[i]?.value ?? 0) < (buckets[i - 1]?.value ?? 0)) problems.push(`${key}: bucket le=${buckets[i]?.labels.le ?? ""} below the one before (not cumulative)`);
    }
    const last = buckets[buckets.length - 1];
    if (last?.labels.le !== "+Inf") problems.push(`${key}: buckets do not end with le="+Inf"`);
    if (sum === undefined || count === undefined) problems.push(`${key}: no _sum or no _count`);
    else if (last !== undefined && last.value !== count.value) problems.push(`${key}: +Inf bucket ${last.raw} is not _count ${count.raw}`);
  }
  return problems;
}

/** Every series of `text` by its key (name and sorted labels), for comparing two scrapes. */
export function seriesValues(families: Map<string, Family>): Map<string, { type: string; value: number }> {
  const out = new Map<string, { type: string; value: number }>();
  for (const f of families.values()) for (const s of f.samples) out.set(seriesKey(s), { type: f.type, value: s.value });
  return out;
}
