import type { SystemId } from './flags';
import type { BenchReport } from './report';

/**
 * A hand-written SVG of one run: creates/s and paid/s per system (bars), and the worker's RSS
 * across the memory run (lines). No chart library: plain shapes and text.
 */

const WIDTH = 960;
const HEIGHT = 400;
const COLORS = { creates: '#3b6fb6', paid: '#5aa05a', worker: '#c0504d', temporal: '#8064a2', gateway: '#999999' };
const LABELS: Record<SystemId, string> = {
  service: 'This service',
  seed: 'Seed floor',
  empty: 'Empty-workflow floor',
  'empty-sa': 'Empty workflow, search attributes',
};

export function svgChart(report: BenchReport, title: string): string {
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 22, title, { anchor: 'middle', size: 15, weight: 'bold' }),
  ];
  parts.push(...throughputPanel(report, { x: 60, y: 60, width: 400, height: 270 }));
  parts.push(...memoryPanel(report, { x: 560, y: 60, width: 370, height: 270 }));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function throughputPanel(report: BenchReport, box: Box): string[] {
  // Medians over the runs when the bench alternated.
  const systems = (['service', 'seed', 'empty', 'empty-sa'] as const).filter((id) => report.figures[id]);
  const load =
    report.flags.arrivalRate !== null
      ? `creates at ${report.flags.arrivalRate}/s`
      : `${report.flags.concurrency} in flight`;
  const out = [
    text(
      box.x + box.width / 2,
      box.y - 18,
      `Throughput at ${load} (per second${report.runs.length > 1 ? ', medians' : ''})`,
      {
        anchor: 'middle',
        weight: 'bold',
      },
    ),
  ];
  if (systems.length === 0)
    return [...out, text(box.x + box.width / 2, box.y + box.height / 2, 'no systems measured', { anchor: 'middle' })];
  const values = systems.flatMap((id) => [
    report.figures[id]?.median.createsPerSecond ?? 0,
    report.figures[id]?.median.paidPerSecond ?? 0,
  ]);
  const { max, ticks } = niceScale(Math.max(...values, 1));
  out.push(...yAxis(box, max, ticks, ''));
  const group = box.width / systems.length;
  const bar = Math.min(50, group / 3);
  systems.forEach((id, index) => {
    const figures = report.figures[id]?.median;
    if (!figures) return;
    const left = box.x + index * group + group / 2 - bar;
    for (const [offset, value, color] of [
      [0, figures.createsPerSecond ?? 0, COLORS.creates],
      [bar, figures.paidPerSecond ?? 0, COLORS.paid],
    ] as const) {
      const height = (value / max) * box.height;
      out.push(
        `<rect x="${left + offset}" y="${fixed(box.y + box.height - height)}" width="${bar - 2}" height="${fixed(height)}" fill="${color}"/>`,
      );
      out.push(
        text(left + offset + (bar - 2) / 2, box.y + box.height - height - 4, String(value), {
          anchor: 'middle',
          size: 11,
        }),
      );
    }
    out.push(text(box.x + index * group + group / 2, box.y + box.height + 18, LABELS[id], { anchor: 'middle' }));
  });
  out.push(
    ...legend(box.x, box.y + box.height + 40, [
      ['creates/s', COLORS.creates],
      ['paid/s', COLORS.paid],
    ]),
  );
  return out;
}

function memoryPanel(report: BenchReport, box: Box): string[] {
  const out = [
    text(box.x + box.width / 2, box.y - 18, 'RSS during the memory run (MB)', { anchor: 'middle', weight: 'bold' }),
  ];
  const full = report.memory?.series ?? [];
  // At most ~300 points per line: a sample a second over a long run is more than a chart can show.
  const every = Math.max(1, Math.ceil(full.length / 300));
  const series = full.filter((_point, index) => index % every === 0 || index === full.length - 1);
  if (series.length < 2)
    return [...out, text(box.x + box.width / 2, box.y + box.height / 2, 'no memory run', { anchor: 'middle' })];
  const lines = (['worker', 'temporal', 'gateway'] as const).filter((name) =>
    series.some((point) => point.rssMb[name] !== undefined),
  );
  const maxOrders = Math.max(...series.map((point) => point.created), 1);
  const maxMb = Math.max(...series.flatMap((point) => lines.map((name) => point.rssMb[name] ?? 0)), 1);
  const y = niceScale(maxMb);
  const x = niceScale(maxOrders);
  out.push(...yAxis(box, y.max, y.ticks, ''));
  for (const tick of x.ticks) {
    const px = box.x + (tick / x.max) * box.width;
    out.push(
      `<line x1="${fixed(px)}" y1="${box.y + box.height}" x2="${fixed(px)}" y2="${box.y + box.height + 4}" stroke="#333"/>`,
    );
    out.push(text(px, box.y + box.height + 16, tick.toLocaleString('en-US'), { anchor: 'middle', size: 11 }));
  }
  out.push(text(box.x + box.width / 2, box.y + box.height + 32, 'orders created', { anchor: 'middle' }));
  for (const name of lines) {
    const points = series
      .filter((point) => point.rssMb[name] !== undefined)
      .map(
        (point) =>
          `${fixed(box.x + (point.created / x.max) * box.width)},${fixed(box.y + box.height - ((point.rssMb[name] ?? 0) / y.max) * box.height)}`,
      );
    const dash = name === 'worker' ? '' : ' stroke-dasharray="5,3"';
    out.push(`<polyline fill="none" stroke="${COLORS[name]}" stroke-width="2"${dash} points="${points.join(' ')}"/>`);
  }
  out.push(
    ...legend(
      box.x,
      box.y + box.height + 50,
      lines.map((name) => [name, COLORS[name]] as [string, string]),
    ),
  );
  return out;
}

function yAxis(box: Box, max: number, ticks: number[], unit: string): string[] {
  const out = [
    `<line x1="${box.x}" y1="${box.y}" x2="${box.x}" y2="${box.y + box.height}" stroke="#333"/>`,
    `<line x1="${box.x}" y1="${box.y + box.height}" x2="${box.x + box.width}" y2="${box.y + box.height}" stroke="#333"/>`,
  ];
  for (const tick of ticks) {
    const py = box.y + box.height - (tick / max) * box.height;
    out.push(`<line x1="${box.x}" y1="${fixed(py)}" x2="${box.x + box.width}" y2="${fixed(py)}" stroke="#e4e4e4"/>`);
    out.push(text(box.x - 6, py + 4, `${tick.toLocaleString('en-US')}${unit}`, { anchor: 'end', size: 11 }));
  }
  return out;
}

function legend(x: number, y: number, entries: Array<[string, string]>): string[] {
  return entries.flatMap(([label, color], index) => [
    `<rect x="${x + index * 120}" y="${y - 10}" width="12" height="12" fill="${color}"/>`,
    text(x + index * 120 + 18, y, label, {}),
  ]);
}

/** An axis maximum and ticks at 1, 2 or 5 times a power of ten. */
export function niceScale(value: number): { max: number; ticks: number[] } {
  const raw = value / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw) ?? raw;
  const max = Math.ceil(value / step) * step;
  const ticks: number[] = [];
  for (let tick = 0; tick <= max + step / 2; tick += step) ticks.push(Math.round(tick * 1e6) / 1e6);
  return { max, ticks };
}

function text(
  x: number,
  y: number,
  content: string,
  options: { anchor?: string; size?: number; weight?: string },
): string {
  const attributes = [`x="${fixed(x)}"`, `y="${fixed(y)}"`];
  if (options.anchor) attributes.push(`text-anchor="${options.anchor}"`);
  if (options.size) attributes.push(`font-size="${options.size}"`);
  if (options.weight) attributes.push(`font-weight="${options.weight}"`);
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`;
}

function fixed(value: number): string {
  return value.toFixed(1);
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
