// Two small hand-written SVG charts for the Markdown report: grouped bars and lines.

const width = 720;
const height = 360;
const margin = { top: 40, right: 20, bottom: 60, left: 70 };
const palette = ['#2f6fdf', '#e0712c', '#3a9d5d', '#b23a48', '#7a52c7', '#1b9aaa', '#c4a000', '#8c564b', '#e377c2', '#555555'];
const plotW = width - margin.left - margin.right;
const legendItemW = 150;
const legendPerRow = Math.floor((width - margin.left) / legendItemW);
const plotH = height - margin.top - margin.bottom;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** A "nice" upper bound and tick step for values up to `max`. */
function scale(max: number): { top: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { top: 1, step: 0.25 };
  const magnitude = 10 ** Math.floor(Math.log10(max));
  const step = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => max / s <= 5)!;
  return { top: Math.ceil(max / step) * step, step };
}

function frame(title: string, yLabel: string, top: number, step: number, body: string[], legend: string[]): string {
  const y = (v: number) => margin.top + plotH - (v / top) * plotH;
  const grid: string[] = [];
  for (let v = 0; v <= top + step / 2; v += step) {
    grid.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    const tick = step >= 1 ? v.toFixed(0) : v.toFixed(Math.min(3, Math.ceil(-Math.log10(step))));
    grid.push(`<text x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${tick}</text>`);
  }
  // A legend longer than one row wraps, and the picture grows downwards to hold it.
  const legendRows = Math.max(1, Math.ceil(legend.length / legendPerRow));
  const fullHeight = height + (legendRows - 1) * 16;
  const legendItems = legend.map((name, i) => {
    const x = margin.left + (i % legendPerRow) * legendItemW;
    const top = height - 18 + Math.floor(i / legendPerRow) * 16;
    return `<rect x="${x}" y="${top}" width="12" height="12" fill="${palette[i % palette.length]}"/><text x="${x + 16}" y="${top + 10}" font-size="12">${esc(name)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${fullHeight}" viewBox="0 0 ${width} ${fullHeight}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="16" y="${margin.top + plotH / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${margin.top + plotH / 2})">${esc(yLabel)}</text>`,
    ...grid,
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#333"/>`,
    ...body,
    ...legendItems,
    `</svg>`,
    '',
  ].join('\n');
}

/** Bars grouped by category (x), one bar per series, value labels on top. */
export function barChart(options: { title: string; yLabel: string; categories: string[]; series: { name: string; values: number[] }[] }): string {
  const max = Math.max(...options.series.flatMap((s) => s.values.filter(Number.isFinite)), 0);
  const { top, step } = scale(max);
  const groupW = plotW / Math.max(1, options.categories.length);
  const barW = (groupW * 0.7) / Math.max(1, options.series.length);
  const body: string[] = [];
  options.categories.forEach((category, c) => {
    const x0 = margin.left + c * groupW + groupW * 0.15;
    options.series.forEach((s, i) => {
      const v = s.values[c] ?? Number.NaN;
      if (!Number.isFinite(v)) return;
      const h = (v / top) * plotH;
      const x = x0 + i * barW;
      body.push(`<rect x="${x}" y="${margin.top + plotH - h}" width="${barW - 2}" height="${h}" fill="${palette[i % palette.length]}"/>`);
      body.push(`<text x="${x + barW / 2}" y="${margin.top + plotH - h - 4}" text-anchor="middle" font-size="10">${fmt(v)}</text>`);
    });
    body.push(`<text x="${margin.left + c * groupW + groupW / 2}" y="${margin.top + plotH + 18}" text-anchor="middle" font-size="12">${esc(category)}</text>`);
  });
  return frame(options.title, options.yLabel, top, step, body, options.series.map((s) => s.name));
}

/** One line per series over x = 1, 2, 3, ... (e.g. seconds), or over the labels `xTicks` gives. */
export function lineChart(options: { title: string; yLabel: string; xLabel: string; series: { name: string; values: number[] }[]; xTicks?: string[] }): string {
  const max = Math.max(...options.series.flatMap((s) => s.values.filter(Number.isFinite)), 0);
  const { top, step } = scale(max);
  const points = Math.max(2, ...options.series.map((s) => s.values.length));
  const x = (i: number) => margin.left + (i / (points - 1)) * plotW;
  const y = (v: number) => margin.top + plotH - (v / top) * plotH;
  const body = options.series.map(
    (s, i) => `<polyline fill="none" stroke-width="2" stroke="${palette[i % palette.length]}" points="${s.values.flatMap((v, j) => (Number.isFinite(v) ? [`${x(j).toFixed(1)},${y(v).toFixed(1)}`] : [])).join(' ')}"/>`,
  );
  for (let i = 0; i < points; i += Math.max(1, Math.ceil(points / 10))) {
    body.push(`<text x="${x(i)}" y="${margin.top + plotH + 18}" text-anchor="middle" font-size="11">${esc(options.xTicks?.[i] ?? String(i + 1))}</text>`);
  }
  body.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 36}" text-anchor="middle" font-size="12">${esc(options.xLabel)}</text>`);
  return frame(options.title, options.yLabel, top, step, body, options.series.map((s) => s.name));
}
