/** "What people do": events by type, as a bar chart and as a table (the accessible copy). */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartData,
  LinearScale,
  Tooltip,
} from "chart.js";
import type { Counts } from "../contract.js";
import { el } from "../dom.js";
import { formatNumber, TYPES } from "../format.js";

// Only what a bar chart with tooltips needs: the bundle leaves the rest of chart.js out.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

/** The theme's colours (design tokens), read when the chart is made. */
function chartColors() {
  const style = getComputedStyle(document.documentElement);
  const token = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    bar: token("--ds-chart-brand", "#1d7afc"),
    text: token("--ds-text-subtle", "#44546f"),
    grid: token("--ds-border", "#091e4224"),
  };
}

/** Caption, head and body of a "type / events" table. */
export function typeTableParts(counts: Counts): HTMLElement[] {
  return [
    el("caption", { className: "visually-hidden", text: "Events by type" }),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col", text: "Type" }),
        el("th", { scope: "col", text: "Events" }),
      ),
    ),
    el(
      "tbody",
      {},
      ...TYPES.map(([key, label]) =>
        el("tr", {}, el("td", { text: label }), el("td", { text: formatNumber(counts[key]) })),
      ),
    ),
  ];
}

export interface Breakdown {
  render(counts: Counts): void;
  clear(): void;
}

const LABELS = TYPES.map(([, label]) => label);

function chartData(values: number[]): ChartData<"bar", number[], string> {
  return {
    labels: LABELS,
    datasets: [
      {
        label: "Events",
        data: values,
        backgroundColor: chartColors().bar,
        borderRadius: 3,
      },
    ],
  };
}

export function mountBreakdown(table: HTMLTableElement, canvas: HTMLCanvasElement): Breakdown {
  let chart: Chart<"bar", number[], string> | null = null;

  const draw = (data: ChartData<"bar", number[], string>) => {
    if (chart) {
      chart.data = data;
      chart.update();
      return;
    }
    const colors = chartColors();
    chart = new Chart<"bar", number[], string>(canvas, {
      type: "bar",
      data,
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { ticks: { color: colors.text }, grid: { display: false } },
          y: {
            beginAtZero: true,
            ticks: { color: colors.text, precision: 0 },
            grid: { color: colors.grid },
          },
        },
      },
    });
  };

  // The chart is drawn in the frame after the figures: making it forces a layout (its size),
  // which on a first load would hold the KPIs, calendar and table off the screen.
  let pending = 0;
  return {
    render(counts) {
      table.replaceChildren(...typeTableParts(counts));
      cancelAnimationFrame(pending);
      const data = chartData(TYPES.map(([key]) => counts[key]));
      pending = requestAnimationFrame(() => draw(data));
    },
    clear() {
      cancelAnimationFrame(pending);
      table.replaceChildren(
        el("caption", { className: "visually-hidden", text: "Events by type" }),
      );
      chart?.destroy();
      chart = null;
    },
  };
}
