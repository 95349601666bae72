/**
 * Inline SVG charts for the HTML report: a line chart over time and a bar chart of a histogram.
 * No script and no external asset, so the report opens anywhere as one file.
 */

export const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

export interface LineSeries {
  readonly name: string;
  readonly color: string;
  /** `[x, y]`; a non-finite y breaks the line. */
  readonly points: readonly (readonly [number, number])[];
}

const W = 860;
const H = 280;
const PAD = { left: 64, right: 16, top: 36, bottom: 54 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

/** 1, 2, 5 × 10^k ticks covering [0, max]. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number(((ticks.at(-1) ?? 0) + step).toPrecision(12)));
  return ticks;
}

const label = (v: number) =>
  Math.abs(v) >= 10_000 ? `${Number((v / 1000).toPrecision(3))}k` : `${Number(v.toPrecision(3))}`;

function frame(
  title: string,
  yLabel: string,
  body: string,
  legend: readonly { name: string; color: string }[],
) {
  const keys = legend
    .map(
      (l, i) =>
        `<rect x="${PAD.left + i * 150}" y="${H - 12}" width="12" height="4" fill="${l.color}"/>` +
        `<text x="${PAD.left + 16 + i * 150}" y="${H - 7}" font-size="11">${escapeHtml(l.name)}</text>`,
    )
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}" font-family="system-ui, sans-serif">` +
    `<text x="${PAD.left}" y="20" font-size="14" font-weight="600">${escapeHtml(title)}</text>` +
    `<text x="12" y="${PAD.top + PLOT_H / 2}" font-size="11" transform="rotate(-90 12 ${PAD.top + PLOT_H / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>` +
    `${body}${keys}</svg>`
  );
}

function yAxis(ticks: number[], yMax: number): string {
  return ticks
    .map((v) => {
      const y = PAD.top + PLOT_H - (v / yMax) * PLOT_H;
      return (
        `<line x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>` +
        `<text x="${PAD.left - 6}" y="${(y + 4).toFixed(1)}" font-size="10" text-anchor="end">${label(v)}</text>`
      );
    })
    .join("");
}

/** One series as a path; a point with no neighbour on either side is drawn as a dot. */
function path(s: LineSeries, px: (x: number) => number, py: (y: number) => number): string {
  let d = "";
  let dots = "";
  const pts = s.points;
  pts.forEach(([x, y], i) => {
    if (!Number.isFinite(y)) return;
    const joined = Number.isFinite(pts[i - 1]?.[1] ?? Number.NaN);
    d += `${joined ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`;
    if (!joined && !Number.isFinite(pts[i + 1]?.[1] ?? Number.NaN))
      dots += `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`;
  });
  return (d ? `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>` : "") + dots;
}

/** A line chart; `bands` shade x ranges (e.g. the traffic phase). */
export function lineChart(options: {
  title: string;
  yLabel: string;
  xLabel: string;
  series: readonly LineSeries[];
  bands?: readonly { from: number; to: number; color: string; name: string }[];
}): string {
  const all = options.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const x0 = Math.min(0, ...xs);
  const x1 = Math.max(x0 + 1, ...xs);
  const ticks = niceTicks(Math.max(0, ...ys));
  const yMax = ticks.at(-1) as number;
  const px = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * PLOT_W;
  const py = (y: number) => PAD.top + PLOT_H - (y / yMax) * PLOT_H;
  const bands = (options.bands ?? [])
    .map(
      (b) =>
        `<rect x="${px(b.from).toFixed(1)}" y="${PAD.top}" width="${Math.max(0, px(b.to) - px(b.from)).toFixed(1)}" height="${PLOT_H}" fill="${b.color}"><title>${escapeHtml(b.name)}</title></rect>`,
    )
    .join("");
  const lines = options.series.map((s) => path(s, px, py)).join("");
  const xTicks = niceTicks(x1 - x0, 8)
    .map((v) => v + x0)
    .filter((v) => v <= x1)
    .map(
      (v) =>
        `<text x="${px(v).toFixed(1)}" y="${PAD.top + PLOT_H + 14}" font-size="10" text-anchor="middle">${label(v)}</text>`,
    )
    .join("");
  const body =
    bands +
    yAxis(ticks, yMax) +
    lines +
    xTicks +
    `<text x="${PAD.left + PLOT_W}" y="${PAD.top + PLOT_H + 26}" font-size="11" text-anchor="end">${escapeHtml(options.xLabel)}</text>`;
  return frame(options.title, options.yLabel, body, options.series);
}

/** Bars over log-spaced bins (`from`–`to` ms), one colour per series, side by side. */
export function histogramChart(options: {
  title: string;
  series: readonly {
    name: string;
    color: string;
    bins: readonly { from: number; to: number; count: number }[];
  }[];
}): string {
  const n = Math.max(1, ...options.series.map((s) => s.bins.length));
  const total = (bins: readonly { count: number }[]) => bins.reduce((s, b) => s + b.count, 0) || 1;
  // Share of each series' samples, so series of different sizes compare.
  const shares = options.series.map((s) => s.bins.map((b) => (b.count / total(s.bins)) * 100));
  const ticks = niceTicks(Math.max(0, ...shares.flat()));
  const yMax = ticks.at(-1) as number;
  const slot = PLOT_W / n;
  const barW = Math.max(1, (slot - 2) / Math.max(1, options.series.length));
  let bars = "";
  options.series.forEach((s, si) => {
    s.bins.forEach((b, i) => {
      const share = shares[si]?.[i] ?? 0;
      const h = (share / yMax) * PLOT_H;
      const x = PAD.left + i * slot + 1 + si * barW;
      bars += `<rect x="${x.toFixed(1)}" y="${(PAD.top + PLOT_H - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${escapeHtml(s.name)} ${label(b.from)}–${label(b.to)} ms: ${b.count}</title></rect>`;
    });
  });
  const first = options.series.find((s) => s.bins.length === n)?.bins ?? [];
  const xLabels = first
    .map((b, i) =>
      i % Math.ceil(n / 8) === 0
        ? `<text x="${(PAD.left + i * slot).toFixed(1)}" y="${PAD.top + PLOT_H + 14}" font-size="10">${label(b.from)}</text>`
        : "",
    )
    .join("");
  const body =
    yAxis(ticks, yMax) +
    bars +
    xLabels +
    `<text x="${PAD.left + PLOT_W}" y="${PAD.top + PLOT_H + 26}" font-size="11" text-anchor="end">latency, ms (log bins)</text>`;
  return frame(options.title, "% of samples", body, options.series);
}
