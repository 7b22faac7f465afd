// One line of copy progress (pure): bar, bytes, total, rate, ETA.
import {humanSize} from './mode.js';

export interface ProgressState {
  readonly bytes: number;
  readonly files: number;
  /** Total bytes when known (single files). */
  readonly total?: number;
  readonly elapsedMs: number;
}

/** Bytes in powers of 1024, named as such: 1023 B, 1.5 KiB, 200 MiB. */
const bytes = (n: number): string => {
  const h = humanSize(n);
  return /[KMGTPEZY]$/.test(h) ? `${h.slice(0, -1)} ${h.slice(-1)}iB` : `${h} B`;
};

const clock = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

export function formatProgress(p: ProgressState, width: number): string {
  const rate = p.elapsedMs > 0 ? (p.bytes * 1000) / p.elapsedMs : 0;
  const amount = p.total !== undefined ? `${bytes(p.bytes)} / ${bytes(p.total)}` : `${bytes(p.bytes)}, ${p.files} ${p.files === 1 ? 'file' : 'files'}`;
  const speed = `${bytes(Math.round(rate))}/s`;
  if (p.total === undefined || p.total === 0) return `${amount}  ${speed}`.slice(0, width);
  const fraction = Math.min(1, p.bytes / p.total);
  const eta = rate > 0 ? clock((p.total - p.bytes) / rate) : '--:--';
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${amount}  ${speed}  ETA ${eta}`;
  const barWidth = Math.max(10, Math.min(40, width - tail.length - 2));
  const filled = Math.round(fraction * barWidth);
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`.slice(0, width);
}
