import { h } from './dom.js';
import { chartedReleases, type ReleaseLegend } from './release-identity.js';
import type { MetricsPoint, ReleaseRate } from './wire-types.js';

/**
 * A service's three small time series, one line per release that runs:
 * requests per second, error rate (%) and p95 latency (ms), from the
 * one-second points the server pushes. Each line and legend entry has the
 * release's label and color from the card (release-identity.ts), the same as
 * its box and its part of the traffic bar. uPlot (loaded as the global
 * `uPlot`) fixes its series when a chart is made, so a release that starts or
 * stops running makes the charts again; the points themselves are kept here.
 */
const KEEP_POINTS = 120;

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
  /** The releases drawn, with their label and color: the charts are made again when this changes. */
  private drawn = '';
  private releaseIds: string[] = [];
  private legend: ReleaseLegend = { order: [], label: new Map(), color: new Map() };

  constructor(private readonly service: string) {
    this.boxes = SPECS.map((spec) =>
      h('div', { class: 'chart', 'data-chart': spec.title }, h('div', { class: 'title' }, spec.title)),
    );
    this.root = h('div', { class: 'charts' }, ...this.boxes);
    new ResizeObserver(() => {
      this.resize();
    }).observe(this.root);
  }

  /** The card's releases (those that run), labels and colors. */
  setLegend(legend: ReleaseLegend): void {
    this.legend = legend;
    this.refresh();
  }

  /** The kept points of this service (the observed split sums them). */
  history(): readonly MetricsPoint[] {
    return this.points;
  }

  push(points: MetricsPoint[]): void {
    for (const point of points) {
      // A reconnect's `hello` repeats the recent points: keep each second once.
      if (point.at <= (this.points.at(-1)?.at ?? 0)) continue;
      this.points.push({ at: point.at, releases: point.releases.filter((r) => r.service === this.service) });
    }
    this.points.splice(0, Math.max(0, this.points.length - KEEP_POINTS));
    this.refresh();
  }

  private refresh(): void {
    const seen = this.points.flatMap((p) => p.releases.map((r) => r.releaseId));
    this.releaseIds = chartedReleases(seen, this.legend);
    const drawn = this.releaseIds
      .map((id) => `${id}=${this.legend.label.get(id) ?? ''}:${this.legend.color.get(id) ?? ''}`)
      .join();
    if (drawn !== this.drawn || this.charts.length === 0) {
      this.drawn = drawn;
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
    const colors = this.releaseIds.map((id) => this.legend.color.get(id) ?? muted);
    SPECS.forEach((spec, i) => {
      const box = this.boxes[i]!;
      const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 }, size: 36 };
      const options: uPlot.Options = {
        width: this.widthOf(box),
        height: 110,
        // Labels only: the values under the cursor would make the legend as tall as the chart.
        // A filled marker, so the legend shows the release's color as a swatch, as the traffic bar does.
        legend: { live: false, markers: { fill: (_u, series) => colors[series - 1] ?? muted } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max, 1)] } },
        axes: [{ ...axis, size: 24 }, axis],
        series: [
          {},
          ...this.releaseIds.map((id, n) => ({
            label: this.legend.label.get(id) ?? id,
            stroke: colors[n],
            width: 2,
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
