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

/** `Nov 23 00:52` within six months before now, `Nov 23  2025` otherwise (future times too: GNU ls, local time). */
export function lsTime(seconds: number, now: number): string {
  const d = new Date(seconds * 1000);
  const day = String(d.getDate()).padStart(2, ' ');
  // GNU's rule: within the half Gregorian year (15,778,476 s) before now, and not in the future.
  const recent = seconds * 1000 > now - 15_778_476_000 && seconds * 1000 <= now;
  const tail = recent
    ? `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
    : ` ${d.getFullYear()}`;
  return `${months[d.getMonth()]} ${day} ${tail}`;
}

/** ls --full-time: `2001-01-01 00:00:00.000000000 +0000` (local time). */
export function fullTime(t: {readonly sec: number; readonly nsec: number}): string {
  const d = new Date(t.sec * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const zone = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    `.${p(t.nsec, 9)} ${zone}`;
}
