// How ls shows modes, sizes and times (pure).
import {S_IFMT} from '../vfs/types.js';

const typeChar: Record<number, string> = {
  0o040000: 'd', 0o120000: 'l', 0o010000: 'p', 0o140000: 's', 0o020000: 'c', 0o060000: 'b', 0o100000: '-',
};

/** `drwxr-xr-x`, with setuid/setgid/sticky as s/S, s/S, t/T. */
export function modeString(mode: number): string {
  const t = typeChar[mode & S_IFMT] ?? '?';
  const rwx = (bits: number, special: boolean, ch: string): string =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return t + rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') + rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    rwx(mode & 7, (mode & 0o1000) !== 0, 't');
}

/** ls -h: 1023, 1.0K, 4.0K, 12K, 1.5M … (powers of 1024, one decimal below 10, rounded up as GNU does). */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return String(bytes);
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1024;
    unit++;
  } while (value >= 1024 && unit < units.length - 1);
  const shown = value < 10 ? Math.ceil(value * 10) / 10 : Math.ceil(value);
  if (shown >= 1024 && unit < units.length - 1) return `1.0${units[unit + 1]}`;
  return (value < 10 && shown < 10 ? shown.toFixed(1) : String(shown)) + units[unit];
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Nov 23 00:52` within six months of now, `Nov 23  2025` otherwise (GNU ls, local time). */
export function lsTime(seconds: number, now: number): string {
  const d = new Date(seconds * 1000);
  const day = String(d.getDate()).padStart(2, ' ');
  const recent = Math.abs(now - seconds * 1000) < 182.5 * 24 * 3600 * 1000;
  const tail = recent
    ? `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
    : ` ${d.getFullYear()}`;
  return `${months[d.getMonth()]} ${day} ${tail}`;
}
