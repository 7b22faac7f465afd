// One line of copy progress (pure): bar, bytes, total, rate, ETA.
import {humanSize} from './mode.js';

export interface ProgressState {
  readonly bytes: number;
  readonly files: number;
  /** Total bytes when known (single files). */
  readonly total?: number;
  readonly elapsedMs: number;
}

const clock = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

export function formatProgress(p: ProgressState, width: number): string {
  const rate = p.elapsedMs > 0 ? (p.bytes * 1000) / p.elapsedMs : 0;
  const amount = p.total !== undefined ? `${humanSize(p.bytes)}B / ${humanSize(p.total)}B` : `${humanSize(p.bytes)}B, ${p.files} files`;
  const speed = `${humanSize(Math.round(rate))}B/s`;
  if (p.total === undefined || p.total === 0) return `${amount}  ${speed}`.slice(0, width);
  const fraction = Math.min(1, p.bytes / p.total);
  const eta = rate > 0 ? clock((p.total - p.bytes) / rate) : '--:--';
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${amount}  ${speed}  ETA ${eta}`;
  const barWidth = Math.max(10, Math.min(40, width - tail.length - 2));
  const filled = Math.round(fraction * barWidth);
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`.slice(0, width);
}
