// How ls shows modes, sizes and times (pure).
import {strftime} from './strftime.js';
import {textWidth} from './width.js';
import {S_IFMT, type Timespec} from '../vfs/types.js';

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

/** ls -h: 1023, 1.0K, 4.0K, 12K, 1.5M … (powers of 1024, one decimal below 10, rounded up as GNU
 *  does); with `si` (ls --si) powers of 1000: 999, 1.0k, 10k, 1.1M. */
export function humanSize(bytes: number, si = false): string {
  const base = si ? 1000 : 1024;
  if (bytes < base) return String(bytes);
  const units = [si ? 'k' : 'K', 'M', 'G', 'T', 'P', 'E'];
  let value = bytes;
  let unit = -1;
  do {
    value /= base;
    unit++;
  } while (value >= base && unit < units.length - 1);
  const shown = value < 10 ? Math.ceil(value * 10) / 10 : Math.ceil(value);
  if (shown >= base && unit < units.length - 1) return `1.0${units[unit + 1]}`;
  return (value < 10 && shown < 10 ? shown.toFixed(1) : String(shown)) + units[unit];
}

/** A --time-style: the strftime formats of times older than six months (or in the future), and of recent ones. */
export interface TimeStyle {
  readonly old: string;
  readonly recent: string;
}

/** GNU's styles (ls.c decode_switches); `locale` is the C locale's. */
export const TIME_STYLES: Readonly<Record<'full-iso' | 'long-iso' | 'iso' | 'locale', TimeStyle>> = {
  'full-iso': {old: '%Y-%m-%d %H:%M:%S.%N %z', recent: '%Y-%m-%d %H:%M:%S.%N %z'},
  'long-iso': {old: '%Y-%m-%d %H:%M', recent: '%Y-%m-%d %H:%M'},
  iso: {old: '%Y-%m-%d ', recent: '%m-%d %H:%M'},
  locale: {old: '%b %e  %Y', recent: '%b %e %H:%M'},
};

/** ls.c long_time_expected_width: the width of the epoch in the style's older format. */
export const expectedTimeWidth = (style: TimeStyle): number => textWidth(strftime(style.old, {sec: 0, nsec: 0}));

/** A time as ls -l shows it in `style`; recent: within the half Gregorian year (15,778,476 s)
 *  before `now` (ms) and not in the future, GNU's rule (local time). A time no calendar holds (a
 *  container's file may carry any 64-bit value) is its number of seconds, right-aligned to the
 *  style's width, as GNU prints a time localtime() cannot convert. */
export function timeText(t: Timespec, now: number, style: TimeStyle = TIME_STYLES.locale): string {
  const ms = t.sec * 1000 + t.nsec / 1e6;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    // Every integer of a double printed exactly (2^62 is 4611686018427387904, not …8000).
    const seconds = Number.isInteger(t.sec) ? BigInt(t.sec).toString() : String(t.sec);
    return seconds.padStart(expectedTimeWidth(style));
  }
  const recent = ms > now - 15_778_476_000 && ms <= now;
  return strftime(recent ? style.recent : style.old, t);
}

/** `Nov 23 00:52` within six months before now, `Nov 23  2025` otherwise (the locale style). */
export const lsTime = (seconds: number, now: number): string => timeText({sec: seconds, nsec: 0}, now);
