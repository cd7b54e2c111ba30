import { createElement, useEffect, useRef, useState, type RefObject } from 'react';
import type { StatsBucket, StatsPeriod } from '../api/types';
import { useText } from '../app/text';
import { formatHourMinute, pageLocale } from '../app/locale';

const HEIGHT = 200;
/** Width before the first measurement (and where the browser cannot measure, as in jsdom). */
const FALLBACK_WIDTH = 720;
const TOP = 10;
const BOTTOM = 26;
const FONT = 12;
/** Room one label needs ("23:00", "This hour"; "Mon 18:00" for 6-hour bars), so labels never overlap. */
const LABEL_ROOM: Record<StatsPeriod, number> = { '24h': 56, '7d': 76, '31d': 56 };

type Series = 'sent' | 'released' | 'held' | 'deferred';
/** Bottom to top in each bar: what left, then what is waiting or was turned away. */
const SERIES: Array<{ key: Series; color: string }> = [
  { key: 'sent', color: '#1b6f96' },
  { key: 'released', color: '#3a7d2c' },
  { key: 'held', color: '#c76a00' },
  { key: 'deferred', color: '#b3203d' },
];

/** Axis steps of 1, 2 or 5 times a power of ten, about four of them up to `highest`. */
export function axisTicks(highest: number): number[] {
  if (highest <= 0) return [0, 1];
  const rough = highest / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough) ?? 10 * power);
  const ticks: number[] = [];
  for (let value = 0; value < highest + step; value += step) ticks.push(value);
  return ticks;
}

/** The width of the element, followed as it changes. */
function useWidth(): [RefObject<HTMLDivElement>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(FALLBACK_WIDTH);
  useEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver((entries) => {
      const measured = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (measured > 0) setWidth(measured);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** The message group of a period in the locale texts (periods.*). */
export const PERIOD_KEY: Record<StatsPeriod, 'day' | 'week' | 'month'> = { '24h': 'day', '7d': 'week', '31d': 'month' };

/** 6-hour and daily bars start at UTC boundaries (as the API cuts them): their labels are UTC too. */
function utcLabel(start: string, period: '7d' | '31d'): string {
  const options: Intl.DateTimeFormatOptions =
    period === '7d' ? { weekday: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' } : { day: 'numeric', month: 'short', timeZone: 'UTC' };
  return new Intl.DateTimeFormat(pageLocale(), options).format(new Date(start));
}

/**
 * Messages per clock hour (or 6 hours, or day: `period`) as stacked bars (ui-library has no chart): sent, released, held and deferred, each
 * as what it is. The picture fills the width it is given, has a labelled y-axis and names the current hour;
 * the same numbers are in a table for screen readers.
 */
export function StatsChart({ buckets, objectLabel, period = '24h' }: { buckets: StatsBucket[]; objectLabel: string; period?: StatsPeriod }) {
  const text = useText();
  const [containerRef, width] = useWidth();
  const totals = Object.fromEntries(SERIES.map(({ key }) => [key, buckets.reduce((sum, bucket) => sum + bucket[key], 0)])) as Record<Series, number>;
  const ticks = axisTicks(Math.max(0, ...buckets.map((bucket) => SERIES.reduce((sum, { key }) => sum + bucket[key], 0))));
  const top = ticks[ticks.length - 1] ?? 1;
  const axisWidth = String(top).length * 7 + 12;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const y = (value: number) => TOP + plotHeight - (plotHeight * value) / top;
  const slot = (width - axisWidth) / Math.max(1, buckets.length);
  const barWidth = Math.max(1, Math.min(40, slot * 0.7));
  const labelEvery = Math.max(1, Math.ceil(LABEL_ROOM[period] / slot));
  const last = buckets.length - 1;
  const hourOf = (start: string) => (period === '24h' ? formatHourMinute(start) : utcLabel(start, period));
  const hourLabel = (index: number, start: string) =>
    index !== last ? hourOf(start) : period === '24h' ? text('chart.thisHour') : text(`periods.now.${PERIOD_KEY[period]}`);
  const chartLabel = period === '24h' ? text('chart.label', { object: objectLabel, ...totals }) : text(`periods.label.${PERIOD_KEY[period]}`, { object: objectLabel, ...totals });
  // Count back from the current hour so it is always labelled and no label runs into it: its label ends at its
  // bar (it is the last), so the one before it needs that label's whole width plus half its own.
  const currentLabelRoom = hourLabel(last, buckets[last]?.start ?? '').length * FONT * 0.62;
  const labelled = (index: number) =>
    index === last || ((last - index) % labelEvery === 0 && (last - index) * slot >= currentLabelRoom + LABEL_ROOM[period] / 2);

  return (
    <figure style={{ margin: 0 }}>
      <div ref={containerRef} style={{ width: '100%' }}>
        <svg
          role="img"
          aria-label={chartLabel}
          width={width}
          height={HEIGHT}
          data-testid="stats-chart"
          style={{ display: 'block', maxWidth: '100%' }}
        >
          {ticks.map((tick) => (
            <g key={tick} data-testid="y-tick">
              <line x1={axisWidth} y1={y(tick)} x2={width} y2={y(tick)} stroke={tick === 0 ? '#737373' : '#e0e0e0'} />
              <text x={axisWidth - 6} y={y(tick) + FONT / 3} fontSize={FONT} textAnchor="end" fill="#222">
                {tick}
              </text>
            </g>
          ))}
          {buckets.map((bucket, index) => {
            const x = axisWidth + index * slot + (slot - barWidth) / 2;
            let base = 0;
            return (
              <g key={bucket.start}>
                <title>{`${hourOf(bucket.start)}: ${SERIES.map(({ key }) => `${text(`chart.${key}`)} ${bucket[key]}`).join(', ')}`}</title>
                {SERIES.map(({ key, color }) => {
                  const value = bucket[key];
                  if (value <= 0) return null;
                  const rect = <rect key={key} x={x} y={y(base + value)} width={barWidth} height={y(base) - y(base + value)} fill={color} />;
                  base += value;
                  return rect;
                })}
                {labelled(index) ? (
                  <text
                    x={x + barWidth / 2}
                    y={HEIGHT - 8}
                    fontSize={FONT}
                    textAnchor={index === last ? 'end' : 'middle'}
                    fontWeight={index === last ? 'bold' : 'normal'}
                    fill="#222"
                    data-testid={index === last ? 'current-hour' : undefined}
                  >
                    {hourLabel(index, bucket.start)}
                  </text>
                ) : null}
              </g>
            );
          })}
        </svg>
      </div>
      <figcaption style={{ display: 'flex', flexWrap: 'wrap', gap: '4px 16px' }}>
        <span data-testid="bar-is">{text(`periods.barIs.${PERIOD_KEY[period]}`)}</span>
        {SERIES.map(({ key, color }) => (
          <span key={key} data-testid={`legend-${key}`}>
            <span aria-hidden="true" style={{ color }}>■</span> {text(`chart.${key}`)}: {totals[key]}
          </span>
        ))}
      </figcaption>
      {/* A table does not shrink below its cells: the 1 px box that hides it for eyes is a block around it. */}
      <div style={{ position: 'absolute', width: 1, height: 1, overflow: 'hidden', clip: 'rect(0 0 0 0)', clipPath: 'inset(50%)', whiteSpace: 'nowrap' }}>
        <table>
          <caption>{objectLabel}</caption>
          <thead>
            <tr>
              <th scope="col">{period === '24h' ? text('chart.hour') : text(`periods.column.${PERIOD_KEY[period]}`)}</th>
              {SERIES.map(({ key }) => (
                <th key={key} scope="col">
                  {text(`chart.${key}`)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {buckets.map((bucket, index) => (
              <tr key={bucket.start}>
                <td>{hourLabel(index, bucket.start)}</td>
                {SERIES.map(({ key }) => (
                  <td key={key}>{bucket[key]}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
