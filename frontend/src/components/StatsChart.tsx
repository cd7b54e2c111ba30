import { createElement } from 'react';
import type { StatsBucket } from '../api/types';
import { useText } from '../app/text';

const WIDTH = 720;
const HEIGHT = 180;
const AXIS = 24;
const SENT_COLOR = '#1b6f96';
const BLOCKED_COLOR = '#b3203d';

/**
 * Sent and blocked messages per hour as paired bars (ui-library has no chart). The picture is labelled with
 * its totals, and the same numbers are in a table for screen readers.
 */
export function StatsChart({ buckets, objectLabel }: { buckets: StatsBucket[]; objectLabel: string }) {
  const text = useText();
  const highest = Math.max(1, ...buckets.map((bucket) => Math.max(bucket.sent, bucket.blocked)));
  const slot = (WIDTH - AXIS) / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot / 2 - 1);
  const scale = (value: number) => ((HEIGHT - AXIS) * value) / highest;
  const sent = buckets.reduce((sum, bucket) => sum + bucket.sent, 0);
  const blocked = buckets.reduce((sum, bucket) => sum + bucket.blocked, 0);
  const hourOf = (start: string) => new Date(start).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  return (
    <figure style={{ margin: 0 }}>
      <svg role="img" aria-label={text('overview.chartLabel', { object: objectLabel, sent, blocked })} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} style={{ width: '100%', maxWidth: WIDTH, height: 'auto' }}>
        <line x1={AXIS} y1={HEIGHT - AXIS} x2={WIDTH} y2={HEIGHT - AXIS} stroke="#737373" />
        <text x={0} y={12} fontSize={11} fill="#222">{highest}</text>
        <text x={0} y={HEIGHT - AXIS} fontSize={11} fill="#222">0</text>
        {buckets.map((bucket, index) => {
          const x = AXIS + index * slot;
          return (
            <g key={bucket.start}>
              <rect x={x} y={HEIGHT - AXIS - scale(bucket.sent)} width={barWidth} height={scale(bucket.sent)} fill={SENT_COLOR} />
              <rect x={x + barWidth + 1} y={HEIGHT - AXIS - scale(bucket.blocked)} width={barWidth} height={scale(bucket.blocked)} fill={BLOCKED_COLOR} />
              {index % 4 === 0 ? (
                <text x={x} y={HEIGHT - 8} fontSize={10} fill="#222">
                  {hourOf(bucket.start)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span aria-hidden="true" style={{ color: SENT_COLOR }}>■</span> {text('overview.sent')}: {sent} <span aria-hidden="true" style={{ color: BLOCKED_COLOR }}>■</span> {text('overview.blocked')}: {blocked}
      </figcaption>
      <table style={{ position: 'absolute', width: 1, height: 1, overflow: 'hidden', clip: 'rect(0 0 0 0)' }}>
        <caption>{objectLabel}</caption>
        <thead>
          <tr>
            <th scope="col">{text('overview.hour')}</th>
            <th scope="col">{text('overview.sent')}</th>
            <th scope="col">{text('overview.blocked')}</th>
          </tr>
        </thead>
        <tbody>
          {buckets.map((bucket) => (
            <tr key={bucket.start}>
              <td>{hourOf(bucket.start)}</td>
              <td>{bucket.sent}</td>
              <td>{bucket.blocked}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
