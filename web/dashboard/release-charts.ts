import { h } from './dom.js';
import type { MetricsPoint, ReleaseRate } from './wire-types.js';

/**
 * A service's three small time series, one line per release: requests per
 * second, error rate (%) and p95 latency (ms), from the one-second points
 * the server pushes. uPlot (loaded as the global `uPlot`) fixes its series
 * when a chart is made, so a new release seen in the data makes the charts
 * again with one more line; the points themselves are kept here.
 */
const KEEP_POINTS = 120;
const PALETTE = ['#1a7f37', '#d97706', '#2f6feb', '#9333ea', '#0891b2', '#be123c'];

interface ChartSpec {
  title: string;
  value: (rate: ReleaseRate) => number | null;
}

const SPECS: ChartSpec[] = [
  { title: 'requests/s', value: (r) => r.requestsPerSecond },
  { title: 'error rate %', value: (r) => (r.errorRate === null ? null : Math.round(r.errorRate * 1000) / 10) },
  { title: 'p95 latency ms', value: (r) => r.p95Ms },
];

export class ReleaseCharts {
  readonly root: HTMLElement;
  private readonly points: MetricsPoint[] = [];
  private readonly boxes: HTMLElement[];
  private charts: uPlot[] = [];
  private releaseIds: string[] = [];
  private versions = new Map<string, string>();

  constructor(private readonly service: string) {
    this.boxes = SPECS.map((spec) =>
      h('div', { class: 'chart', 'data-chart': spec.title }, h('div', { class: 'title' }, spec.title)),
    );
    this.root = h('div', { class: 'charts' }, ...this.boxes);
    new ResizeObserver(() => {
      this.resize();
    }).observe(this.root);
  }

  /** Release ids → versions, for the legends. */
  setVersions(versions: Map<string, string>): void {
    const changed = [...versions].some(([id, version]) => this.versions.get(id) !== version);
    this.versions = versions;
    if (changed && this.charts.length > 0) this.build();
  }

  push(points: MetricsPoint[]): void {
    for (const point of points) {
      // A reconnect's `hello` repeats the recent points: keep each second once.
      if (point.at <= (this.points.at(-1)?.at ?? 0)) continue;
      this.points.push({ at: point.at, releases: point.releases.filter((r) => r.service === this.service) });
    }
    this.points.splice(0, Math.max(0, this.points.length - KEEP_POINTS));
    const seen = [...new Set(this.points.flatMap((p) => p.releases.map((r) => r.releaseId)))];
    if (seen.join() !== this.releaseIds.join() || this.charts.length === 0) {
      this.releaseIds = seen;
      this.build();
    } else {
      SPECS.forEach((spec, i) => this.charts[i]?.setData(this.data(spec)));
    }
  }

  private data(spec: ChartSpec): uPlot.AlignedData {
    const times = this.points.map((p) => p.at / 1000);
    const lines = this.releaseIds.map((id) =>
      this.points.map((p) => {
        const rate = p.releases.find((r) => r.releaseId === id);
        return rate ? spec.value(rate) : null;
      }),
    );
    return [times, ...lines];
  }

  private build(): void {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
    if (typeof uPlot === 'undefined' || this.releaseIds.length === 0) return;
    const style = getComputedStyle(document.documentElement);
    const muted = style.getPropertyValue('--muted').trim() || '#667085';
    const line = style.getPropertyValue('--line').trim() || '#d9dde3';
    SPECS.forEach((spec, i) => {
      const box = this.boxes[i]!;
      const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 }, size: 36 };
      const options: uPlot.Options = {
        width: this.widthOf(box),
        height: 110,
        // Labels only: the values under the cursor would make the legend as tall as the chart.
        legend: { live: false },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max, 1)] } },
        axes: [{ ...axis, size: 24 }, axis],
        series: [
          {},
          ...this.releaseIds.map((id, n) => ({
            label: this.versions.get(id) ?? id,
            stroke: PALETTE[n % PALETTE.length],
            width: 1.5,
          })),
        ],
      };
      this.charts.push(new uPlot(options, this.data(spec), box));
    });
  }

  private widthOf(box: HTMLElement): number {
    return Math.max(160, Math.floor(box.clientWidth || 240));
  }

  private resize(): void {
    this.charts.forEach((chart, i) => {
      const box = this.boxes[i];
      if (box) chart.setSize({ width: this.widthOf(box), height: 110 });
    });
  }
}
