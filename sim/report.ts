import type { CurvePoint } from './simulator';

/** Long format, one row per evaluation: run, variant fields, virtual time, version, loss, accuracy. */
export function curvesToCsv(curves: ReadonlyMap<string, readonly CurvePoint[]>): string {
  const lines = ['run,seconds,version,loss,accuracy'];
  for (const [label, points] of curves) {
    const run = csvField(label);
    for (const p of points) lines.push(`${run},${p.time},${p.version},${p.loss},${p.accuracy}`);
  }
  return `${lines.join('\n')}\n`;
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

/** An SVG line chart of held-out loss against (virtual) wall-clock seconds, one line per run, log-log. */
export function curvesToSvg(curves: ReadonlyMap<string, readonly CurvePoint[]>, title: string): string {
  const width = 820;
  const height = 500;
  const margin = { left: 70, right: 210, top: 40, bottom: 50 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = [...curves.values()].flat().filter((p) => Number.isFinite(p.loss));
  // Log axes: variants differ in speed by orders of magnitude (P H_P for sync against async), and
  // the error floors they settle at sit close together far below the initial loss.
  const positiveTimes = all.map((p) => p.time).filter((t) => t > 0);
  const maxT = Math.max(1e-9, ...positiveTimes);
  const minT = Math.min(maxT / 10, ...positiveTimes);
  const losses = all.map((p) => p.loss).filter((l) => l > 0);
  let minL = losses.length ? Math.min(...losses) : 0.1;
  let maxL = losses.length ? Math.max(...losses) : 1;
  if (maxL / minL < 1.01) {
    minL /= 1.1;
    maxL *= 1.1;
  }
  const logX = (t: number) => Math.log(Math.max(t, minT));
  const x = (t: number) => margin.left + ((logX(t) - logX(minT)) / (logX(maxT) - logX(minT))) * plotW;
  const y = (l: number) => margin.top + (1 - Math.log(l / minL) / Math.log(maxL / minL)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left + plotW / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
  ];
  for (const t of decadeTicks(minT, maxT)) {
    out.push(
      `<line x1="${fmt(x(t))}" y1="${margin.top + plotH}" x2="${fmt(x(t))}" y2="${margin.top + plotH + 5}" stroke="#444"/>`,
      `<text x="${fmt(x(t))}" y="${margin.top + plotH + 18}" text-anchor="middle">${formatTick(t)}</text>`,
    );
  }
  for (const l of niceTicks(minL, maxL).filter((l) => l >= minL)) {
    out.push(
      `<line x1="${margin.left - 5}" y1="${fmt(y(l))}" x2="${margin.left + plotW}" y2="${fmt(y(l))}" stroke="#ddd"/>`,
      `<text x="${margin.left - 8}" y="${fmt(y(l) + 4)}" text-anchor="end">${formatTick(l)}</text>`,
    );
  }
  out.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">wall-clock time (simulated seconds, log scale; the first point is t = 0)</text>`,
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">held-out loss (log scale)</text>`,
  );
  [...curves.entries()].forEach(([label, points], i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    const path = points
      .filter((p) => Number.isFinite(p.loss) && p.loss > 0)
      .map((p) => `${fmt(x(p.time))},${fmt(y(p.loss))}`)
      .join(' ');
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${path}"/>`);
    const ly = margin.top + 10 + i * 18;
    const lx = margin.left + plotW + 12;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 26}" y="${ly + 4}">${escapeXml(label)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** 1, 2, 5 times powers of ten within [lo, hi] (lo > 0). */
export function decadeTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = Number((m * 10 ** e).toPrecision(12));
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  return ticks;
}

/** About five round-numbered ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  return Number(value.toPrecision(4)).toString();
}

function fmt(value: number): string {
  return value.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}
