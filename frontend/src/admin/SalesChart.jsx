import { useEffect, useId, useRef, useState } from "react";
import { formatClock } from "./time.js";

// Units sold per minute (bars, left axis) and stock at the end of each minute (line,
// right axis), hand-written SVG: the console needs two series and no interaction a
// chart library would pay for. The SVG is one image with a text summary; the table
// below it carries every number for screen readers and keyboard users.

const MARGIN = { top: 14, right: 52, bottom: 30, left: 44 };
const HEIGHT = 240;

// The smallest of 1, 2, 5 × 10^k at or above `value`: axis maxima that read well.
export function niceCeil(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * power >= value);
  return step * power;
}

export function summarize(minutes) {
  if (minutes.length === 0) return "No data for this window yet.";
  const sold = minutes.reduce((sum, m) => sum + m.unitsSold, 0);
  const cancelled = minutes.reduce((sum, m) => sum + m.unitsCancelled, 0);
  const peak = minutes.reduce((best, m) => (m.unitsSold > best.unitsSold ? m : best), minutes[0]);
  const first = minutes[0];
  const last = minutes[minutes.length - 1];
  const parts = [`${sold} units sold in the last ${minutes.length} minutes`];
  if (sold > 0) parts.push(`most in one minute: ${peak.unitsSold} at ${formatClock(peak.minute)}`);
  if (cancelled > 0) parts.push(`${cancelled} cancelled`);
  const startStock = first.stock + first.unitsSold - first.unitsCancelled;
  parts.push(`stock went from ${startStock} to ${last.stock}`);
  return `${parts.join("; ")}.`;
}

// The rendered width, so text stays legible on a phone instead of being scaled down.
function useWidth(fallback) {
  const ref = useRef(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver !== "function") return undefined;
    const observer = new ResizeObserver(([entry]) => {
      const measured = Math.round(entry.contentRect.width);
      if (measured > 0) setWidth(Math.max(280, measured));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

export function SalesChart({ minutes }) {
  const [ref, width] = useWidth(640);
  const titleId = useId();
  const descId = useId();
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const n = Math.max(minutes.length, 1);
  const band = plotW / n;
  const maxSold = niceCeil(Math.max(0, ...minutes.map((m) => m.unitsSold)));
  const maxStock = niceCeil(Math.max(0, ...minutes.map((m) => m.stock)));
  const bottom = MARGIN.top + plotH;
  const ySold = (v) => bottom - (v / maxSold) * plotH;
  const yStock = (v) => bottom - (v / maxStock) * plotH;
  const centre = (i) => MARGIN.left + band * (i + 0.5);
  const barWidth = Math.max(1, band * 0.7);
  // About one time label per 80 px, counted back from the newest minute so it is labelled.
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 80))));
  const line = minutes.map((m, i) => `${i === 0 ? "M" : "L"}${centre(i).toFixed(1)},${yStock(m.stock).toFixed(1)}`);
  const soldTicks = maxSold % 2 === 0 ? [0, maxSold / 2, maxSold] : [0, maxSold];
  const stockTicks = maxStock % 2 === 0 ? [0, maxStock / 2, maxStock] : [0, maxStock];

  return (
    <figure className="chart" ref={ref}>
      <svg
        role="img"
        aria-labelledby={`${titleId} ${descId}`}
        viewBox={`0 0 ${width} ${HEIGHT}`}
        width={width}
        height={HEIGHT}
      >
        <title id={titleId}>Units sold per minute and stock over time</title>
        <desc id={descId}>{summarize(minutes)}</desc>
        {soldTicks.map((t) => (
          <g key={`s${t}`} className="tick">
            <line x1={MARGIN.left} x2={MARGIN.left + plotW} y1={ySold(t)} y2={ySold(t)} className="grid" />
            <text x={MARGIN.left - 6} y={ySold(t) + 4} textAnchor="end">
              {t}
            </text>
          </g>
        ))}
        {stockTicks.map((t) => (
          <text key={`k${t}`} className="tick stock-tick" x={MARGIN.left + plotW + 6} y={yStock(t) + 4}>
            {t}
          </text>
        ))}
        {minutes.map((m, i) =>
          m.unitsSold > 0 ? (
            <rect
              key={m.minute}
              className="bar"
              x={centre(i) - barWidth / 2}
              width={barWidth}
              y={ySold(m.unitsSold)}
              height={bottom - ySold(m.unitsSold)}
            >
              <title>{`${formatClock(m.minute)}: ${m.unitsSold} sold, stock ${m.stock}`}</title>
            </rect>
          ) : null,
        )}
        {minutes.length > 0 && <path className="stock-line" d={line.join("")} />}
        {minutes.map((m, i) =>
          (n - 1 - i) % every === 0 ? (
            <text key={`t${m.minute}`} className="tick" x={centre(i)} y={HEIGHT - 8} textAnchor="middle">
              {formatClock(m.minute)}
            </text>
          ) : null,
        )}
        <line className="axis" x1={MARGIN.left} x2={MARGIN.left + plotW} y1={bottom} y2={bottom} />
      </svg>
      <figcaption className="legend">
        <span>
          <span className="swatch bar" aria-hidden="true" /> Units sold per minute (left axis)
        </span>
        <span>
          <span className="swatch stock-line" aria-hidden="true" /> Stock at the end of the minute (right axis)
        </span>
      </figcaption>
    </figure>
  );
}

export function MinuteTable({ minutes }) {
  return (
    <details className="minutes">
      <summary>The chart as a table</summary>
      <div className="scroll" role="region" aria-label="Minute by minute" tabIndex={0}>
        <table className="data">
          <caption>Minute by minute, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Minute</th>
              <th scope="col">Units sold</th>
              <th scope="col">Units cancelled</th>
              <th scope="col">Orders</th>
              <th scope="col">Stock at end</th>
            </tr>
          </thead>
          <tbody>
            {minutes.map((m) => (
              <tr key={m.minute}>
                <th scope="row">
                  <time dateTime={m.minute}>{formatClock(m.minute)}</time>
                </th>
                <td>{m.unitsSold}</td>
                <td>{m.unitsCancelled}</td>
                <td>{m.orders}</td>
                <td>{m.stock}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
