// gnulib's nstrftime in the C locale (pure but for the process's time zone, which the local-time
// getters of Date read): what ls --time-style=+FORMAT and TIME_STYLE write. Conversions
// a A b B c C d D e F g G h H I j k l m M n N p P q r R s S t T u U V w W x X y Y z :z ::z Z %, the
// flags `-` (no padding) `_` (spaces) `0` (zeros) `^` (upper case) `#` (swapped case), a field
// width, and the E and O modifiers (no effect in the C locale). An unknown conversion is
// written as it was, as gnulib does.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November',
  'December'];

/** The local time zone's abbreviation (as %Z shows it), or its offset where Intl has no name. */
function zoneName(d: Date): string {
  try {
    const part = new Intl.DateTimeFormat('en-US', {timeZoneName: 'short'}).formatToParts(d).find((p) => p.type === 'timeZoneName');
    if (part && /^[A-Za-z]+$/.test(part.value)) return part.value === 'GMT' && d.getTimezoneOffset() === 0 ? 'UTC' : part.value;
  } catch {
    // no Intl data: the offset below
  }
  const off = -d.getTimezoneOffset();
  return `${off < 0 ? '-' : '+'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}`;
}

/** Day of the year, 0-based. */
const yday = (d: Date): number =>
  Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000);

/** ISO 8601 week-based year and week number. */
function isoWeek(d: Date): {year: number; week: number} {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const day = (t.getUTCDay() + 6) % 7; // Monday 0
  t.setUTCDate(t.getUTCDate() - day + 3); // the Thursday of this week
  const year = t.getUTCFullYear();
  const week = 1 + Math.floor((t.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 / 7);
  return {year, week};
}

/** `time` (seconds and nanoseconds) formatted by `format`, in local time. */
export function strftime(format: string, time: {readonly sec: number; readonly nsec: number}): string {
  const d = new Date(time.sec * 1000);
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const start = i;
    let pad: string | undefined;
    let upper = false;
    let swap = false;
    while ('_-0^#'.includes(format[i + 1] ?? 'x')) {
      const f = format[++i]!;
      if (f === '^') upper = true;
      else if (f === '#') swap = true;
      else pad = f;
    }
    let widthText = '';
    while (/[0-9]/.test(format[i + 1] ?? '')) widthText += format[++i]!;
    const width = widthText === '' ? undefined : Number(widthText);
    let colons = 0;
    while (format[i + 1] === ':') {
      colons++;
      i++;
    }
    if (format[i + 1] === 'E' || format[i + 1] === 'O') i++;
    const conv = format[++i];
    if (conv === undefined) {
      out += format.slice(start);
      break;
    }
    /** A number padded to `n` digits with `fill` (GNU: zeros, or spaces for %e %k %l). */
    const num = (v: number, n: number, fill = '0'): string => {
      const neg = v < 0;
      let s = String(Math.abs(v));
      const p = pad === '-' ? '' : pad === '_' ? ' ' : pad === '0' ? '0' : fill;
      const w = width ?? n;
      if (p === '0') s = s.padStart(w - (neg ? 1 : 0), '0');
      if (neg) s = `-${s}`;
      if (p === ' ') s = s.padStart(w, ' ');
      return s;
    };
    const text = (s: string, caseSwapsTo: 'upper' | 'lower' = 'upper'): string => {
      let t = upper ? s.toUpperCase() : swap ? (caseSwapsTo === 'upper' ? s.toUpperCase() : s.toLowerCase()) : s;
      if (width !== undefined && pad !== '-') t = t.padStart(width, pad === '0' ? '0' : ' ');
      return t;
    };
    const h12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
    const off = -d.getTimezoneOffset();
    const sign = off < 0 ? '-' : '+';
    const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
    const mm = String(Math.abs(off) % 60).padStart(2, '0');
    switch (conv) {
      case 'a': out += text(DAYS[d.getDay()]!.slice(0, 3)); break;
      case 'A': out += text(DAYS[d.getDay()]!); break;
      case 'b': case 'h': out += text(MONTHS[d.getMonth()]!.slice(0, 3)); break;
      case 'B': out += text(MONTHS[d.getMonth()]!); break;
      case 'c': out += text(strftime('%a %b %e %H:%M:%S %Y', time)); break;
      case 'C': out += num(Math.floor(d.getFullYear() / 100), 2); break;
      case 'd': out += num(d.getDate(), 2); break;
      case 'D': out += text(strftime('%m/%d/%y', time)); break;
      case 'e': out += num(d.getDate(), 2, ' '); break;
      case 'F': out += text(strftime('%Y-%m-%d', time)); break;
      case 'g': out += num(((isoWeek(d).year % 100) + 100) % 100, 2); break;
      case 'G': out += num(isoWeek(d).year, 1); break;
      case 'H': out += num(d.getHours(), 2); break;
      case 'I': out += num(h12, 2); break;
      case 'j': out += num(yday(d) + 1, 3); break;
      case 'k': out += num(d.getHours(), 2, ' '); break;
      case 'l': out += num(h12, 2, ' '); break;
      case 'm': out += num(d.getMonth() + 1, 2); break;
      case 'M': out += num(d.getMinutes(), 2); break;
      case 'n': out += text('\n'); break;
      case 'N': {
        // The first `width` digits of the nanoseconds (all nine by default).
        const digits = String(time.nsec).padStart(9, '0');
        const w = width ?? 9;
        out += w <= 9 ? digits.slice(0, w) : digits + (pad === '_' ? ' ' : '0').repeat(w - 9);
        break;
      }
      case 'p': out += text(d.getHours() < 12 ? 'AM' : 'PM', 'lower'); break;
      case 'P': out += text(d.getHours() < 12 ? 'am' : 'pm'); break;
      case 'q': out += num(Math.floor(d.getMonth() / 3) + 1, 1); break;
      case 'r': out += text(strftime('%I:%M:%S %p', time)); break;
      case 'R': out += text(strftime('%H:%M', time)); break;
      case 's': out += num(time.sec, 1); break;
      case 'S': out += num(d.getSeconds(), 2); break;
      case 't': out += text('\t'); break;
      case 'T': out += text(strftime('%H:%M:%S', time)); break;
      case 'u': out += num(((d.getDay() + 6) % 7) + 1, 1); break;
      case 'U': out += num(Math.floor((yday(d) + 7 - d.getDay()) / 7), 2); break;
      case 'V': out += num(isoWeek(d).week, 2); break;
      case 'w': out += num(d.getDay(), 1); break;
      case 'W': out += num(Math.floor((yday(d) + 7 - ((d.getDay() + 6) % 7)) / 7), 2); break;
      case 'x': out += text(strftime('%m/%d/%y', time)); break;
      case 'X': out += text(strftime('%H:%M:%S', time)); break;
      case 'y': out += num(((d.getFullYear() % 100) + 100) % 100, 2); break;
      case 'Y': out += num(d.getFullYear(), 1); break;
      case 'z': out += colons === 0 ? `${sign}${hh}${mm}` : colons === 1 ? `${sign}${hh}:${mm}` : `${sign}${hh}:${mm}:00`; break;
      case 'Z': out += text(zoneName(d), 'lower'); break;
      case '%': out += text('%'); break;
      default: out += format.slice(start, i + 1);
    }
  }
  return out;
}
