// The admin page's canary analysis: both arms side by side, the verdict, the decisions, and a small
// SVG chart of both arms' cumulative refusal and thumbs-down rates since the canary was set.
import { api, canPromote, el } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const rate = (x) => (typeof x === "number" ? `${(x * 100).toFixed(1)}%` : "—");
const ms = (x) => (typeof x === "number" ? `${Math.round(x)} ms` : "—");
// The colours are repeated in app.css (.legend-live, .legend-canary): the page's CSP allows no inline styles.
const LIVE = "#1f6feb";
const CANARY = "#d1242f";
const SERIES = [
  ["live_refusal_rate", "live refusals", LIVE, ""],
  ["canary_refusal_rate", "canary refusals", CANARY, ""],
  ["live_thumbs_down_rate", "live thumbs-down", LIVE, "4 3"],
  ["canary_thumbs_down_rate", "canary thumbs-down", CANARY, "4 3"],
];

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** A line chart of the series points (cumulative rates per arm over time), plain SVG. */
export function chart(points) {
  const w = 480, h = 160, pad = 32;
  const top = Math.max(0.05, ...points.flatMap((p) => SERIES.map(([k]) => p[k] ?? 0)));
  const x = (i) => pad + (i / Math.max(1, points.length - 1)) * (w - 2 * pad);
  const y = (v) => h - pad + 8 - (v / top) * (h - pad - 8);
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img", class: "canary-chart" });
  root.append(svg("title"));
  root.firstChild.textContent = "Cumulative refusal and thumbs-down rates of the live and canary arms since the canary was set";
  root.append(svg("line", { x1: pad, y1: y(0), x2: w - pad, y2: y(0), stroke: "currentColor", "stroke-opacity": 0.4 }));
  const label = svg("text", { x: 2, y: y(top) + 4, "font-size": 10, fill: "currentColor" });
  label.textContent = rate(top);
  root.append(label);
  for (const [key, , color, dash] of SERIES) {
    const coords = points.map((p, i) => (p[key] === null ? null : `${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`)).filter(Boolean);
    if (coords.length) root.append(svg("polyline", { points: coords.join(" "), fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": dash }));
  }
  const legend = el("p", { class: "muted" }, ...SERIES.map(([, name, color, dash]) => el("span", { class: `legend ${color === LIVE ? "legend-live" : "legend-canary"}` }, `${dash ? "┄" : "━"} ${name} `)));
  return el("figure", {}, root, legend);
}

function armsTable(a) {
  const rows = [
    ["Version", (x) => (x.version ? `v${x.version}` : "—")],
    ["Questions", (x) => x.questions],
    ["Refusal rate", (x) => rate(x.refusal_rate)],
    ["Thumbs-down rate", (x) => rate(x.thumbs_down_rate)],
    ["Dropped-citation rate", (x) => rate(x.dropped_citation_rate)],
    ["Unsupported (checked answers)", (x) => rate(x.unsupported_rate)],
    ["Model errors", (x) => `${x.model_errors} (${rate(x.model_error_rate)})`],
    ["Latency p95", (x) => ms(x.latency_p95_ms)],
  ];
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Metric"), el("th", { scope: "col" }, "Live"), el("th", { scope: "col" }, "Canary"))),
      el("tbody", {}, ...rows.map(([name, f]) => el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, f(a.live)), el("td", {}, f(a.canary))))),
    ),
  );
}

/** Fill the canary section for ``index`` (admins only; hidden for everyone else or without any run). */
export async function loadCanary(index, me) {
  const section = document.getElementById("canary-section");
  section.hidden = true;
  if (!index || !canPromote(me)) return;
  let a;
  try {
    a = await api(`/v1/indexes/${index}/canary`);
  } catch {
    return;
  }
  if (!a.run) return;
  section.hidden = false;
  const run = a.run;
  const verdict = a.verdict;
  const badge = { worse: "failed", passed: "live", holding: "", no_verdict: "" }[verdict ? verdict.state : ""] ?? "";
  document.getElementById("canary-analysis").replaceChildren(
    el(
      "p",
      {},
      `Canary v${run.version} since ${new Date(run.started_at).toLocaleString()}: `,
      el("span", { class: "badge" }, run.state),
      verdict ? [" verdict ", el("span", { class: `badge ${badge}` }, verdict.state.replace("_", " ")), ` ${verdict.reason}`] : null,
    ),
    run.reason && run.state !== "running" ? el("p", { class: "muted" }, `Decision: ${run.reason}`) : null,
    armsTable(a),
    a.series.length ? chart(a.series) : null,
    a.decisions.length
      ? el("ul", { "aria-label": "Canary decisions" }, ...a.decisions.map((d) => el("li", {}, `${new Date(d.at).toLocaleString()} ${d.action} v${d.version}${d.actor ? ` by ${d.actor}` : ""}${d.reason ? `: ${d.reason}` : ""}`)))
      : null,
    el("p", { class: "muted" }, `Policy: at least ${run.policy.min_questions} questions per arm and ${run.policy.min_duration_s} s; ${Math.round(run.policy.confidence * 100)}% confidence; ${run.policy.auto_promote ? "promoted" : "marked ready"} when it passes.`),
  );
}
