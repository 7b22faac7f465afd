// Hand-made tar streams, byte by byte, so that they can lie: names with `../` or a leading `/`,
// a symlink followed by a file "inside" it, a hard link to an outside path, a size header larger
// than the body, a pax header that renames the entry after it. tar-stream would refuse to write
// most of these; an engine is not bound by what tar-stream writes.

const TYPE: Record<string, string> = {file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6', pax: 'x'};

export interface CraftEntry {
  readonly name: string;
  readonly type?: keyof typeof TYPE;
  readonly mode?: number;
  readonly body?: Buffer | string;
  /** The size the header claims (defaults to the body's). */
  readonly claimedSize?: number;
  readonly linkname?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly devmajor?: number;
  readonly devminor?: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: CraftEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const name = Buffer.from(e.name, 'latin1');
  // Long names go in the ustar prefix field when they fit there, else are cut (pax carries them).
  if (name.length <= 100) name.copy(h, 0);
  else {
    const cut = name.lastIndexOf(0x2f, name.length - 2);
    const pre = cut > 0 && cut <= 155 && name.length - cut - 1 <= 100 ? cut : -1;
    if (pre > 0) {
      name.subarray(cut + 1).copy(h, 0);
      name.subarray(0, cut).copy(h, 345);
    } else name.subarray(0, 100).copy(h, 0);
  }
  h.write(octal(e.mode ?? (e.type === 'dir' ? 0o755 : 0o644), 8), 100, 'latin1');
  h.write(octal(e.uid ?? 0, 8), 108, 'latin1');
  h.write(octal(e.gid ?? 0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1_700_000_000, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(TYPE[e.type ?? 'file']!, 156, 'latin1');
  if (e.linkname) Buffer.from(e.linkname, 'latin1').subarray(0, 100).copy(h, 157);
  h.write('ustar\x0000', 257, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  h.write(octal(e.devmajor ?? 0, 8), 329, 'latin1');
  h.write(octal(e.devminor ?? 0, 8), 337, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'latin1');
  return h;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** One entry (header, body, padding). A claimedSize larger than the body makes a short entry. */
export function entry(e: CraftEntry): Buffer {
  const body = typeof e.body === 'string' ? Buffer.from(e.body, 'utf8') : (e.body ?? Buffer.alloc(0));
  const claimed = e.claimedSize ?? body.length;
  return Buffer.concat([header(e, claimed), body, claimed === body.length ? pad(body.length) : Buffer.alloc(0)]);
}

/** A pax extended header whose records apply to the next entry (e.g. {path: '../../x'}). */
export function pax(records: Record<string, string>): Buffer {
  let body = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    body += `${len}${rest}`;
  }
  return entry({name: 'PaxHeader', type: 'pax', body});
}

/** Two zero blocks. */
export const end = (): Buffer => Buffer.alloc(1024);

export function tarball(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, end()]);
}
