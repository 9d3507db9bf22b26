// @ts-check
// Hand-drawn SVG line charts (no chart library: the whole page must stay a few
// KiB inside the Worker bundle). Built with DOM calls, never markup strings,
// so the strict CSP holds and no service data is ever parsed as HTML.
import { pathData, summarize } from "./model.client.js";

const SVG = "http://www.w3.org/2000/svg";
// The drawing's own units; CSS stretches it to the figure's width, and
// vector-effect keeps the strokes from stretching with it.
const W = 300;
const H = 100;

/** @typedef {import("./model.client.js").Point} Point */
/** @typedef {{ name: string, points: Point[], className: string }} Line */

/**
 * @param {string} tag
 * @param {Record<string, string>} attrs
 * @returns {SVGElement}
 */
function svgEl(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/**
 * A figure with one SVG chart and a caption that says in words what the lines
 * show (the SVG's aria-label carries the same), so the chart is not the only
 * way to read the numbers.
 * @param {{ title: string, lines: Line[], fmt: (v: number) => string, from: number, to: number,
 *   minMax?: number, compact?: boolean }} opts
 * @returns {HTMLElement}
 */
export function lineChart({ title, lines, fmt, from, to, minMax = 1, compact = false }) {
  const ys = lines.flatMap((l) => l.points.map((p) => p.y)).filter((y) => y !== null);
  // A floor on the scale's top, so a quiet service's noise does not fill the chart.
  const top = Math.max(minMax, ...ys) * 1.1;
  const span = Math.max(1, to - from);
  const sx = (/** @type {number} */ x) => ((x - from) / span) * W;
  const sy = (/** @type {number} */ y) => H - (y / top) * H;

  const summary = lines.map((l) => summarize(l.name, l.points, fmt)).join("; ");
  const figure = document.createElement("figure");
  figure.className = compact ? "chart compact" : "chart";
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": `${title}. ${summary}` });
  const label = svgEl("title", {});
  label.textContent = `${title}. ${summary}`;
  svg.append(label);
  for (const frac of [0.25, 0.5, 0.75]) svg.append(svgEl("line", { x1: "0", x2: String(W), y1: String(H * frac), y2: String(H * frac), class: "grid" }));
  for (const line of lines) {
    const d = pathData(line.points, sx, sy);
    if (d === "") continue;
    svg.append(svgEl("path", { d, class: `line ${line.className}`, "vector-effect": "non-scaling-stroke" }));
    // The latest value gets a dot: it is the number the caption reads out, and a young series may be a single point.
    const last = line.points.findLast((p) => p.y !== null);
    if (last !== undefined && last.y !== null) {
      svg.append(svgEl("path", { d: `M${sx(last.x).toFixed(1)} ${sy(last.y).toFixed(1)}h0.01`, class: `dot ${line.className}`, "vector-effect": "non-scaling-stroke" }));
    }
  }
  figure.append(svg);
  if (!compact) {
    const caption = document.createElement("figcaption");
    const name = document.createElement("strong");
    name.textContent = title;
    caption.append(name, ` (scale to ${fmt(top)})`);
    for (const line of lines) {
      const key = document.createElement("span");
      key.className = `key ${line.className}`;
      key.textContent = summarize(line.name, line.points, fmt);
      caption.append(key);
    }
    figure.append(caption);
  }
  return figure;
}
