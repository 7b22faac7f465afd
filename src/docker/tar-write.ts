// Tar streams dbox sends to the engine's archive API (PUT): POSIX ustar, with a pax header of
// its own before an entry whose name or link name is not short ASCII, or that carries pax records
// (an entry read from the engine and sent back). Names are dbox's name codec (src/format/utf8.ts)
// and are written as their bytes exactly: a name that is not UTF-8 stays that name (tar-stream
// would write U+FFFD for each such byte: another name in the container). Go's archive/tar (the
// engine's) takes a pax path and size over the ustar fields. A file's bytes come from its body,
// which must hold exactly the size its header gives: anything else ends the stream with an error
// (a short tar would be extracted as a short file); a body is read, never closed (its owner's).
// Trusted: the headers given (dbox's own); pax records of an entry read back are passed on as
// bytes, never interpreted.
import {Readable} from 'node:stream';
import {nameBytes} from '../format/utf8.js';

export type EntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'contiguous-file';

export interface EntryHeader {
  readonly name: string;
  readonly type?: EntryType | null;
  readonly mode?: number | null;
  readonly uid?: number | null;
  readonly gid?: number | null;
  readonly size?: number | null;
  readonly mtime?: Date | null;
  readonly linkname?: string | null;
  readonly uname?: string | null;
  readonly gname?: string | null;
  readonly devmajor?: number | null;
  readonly devminor?: number | null;
  /** Pax records of an entry read back (latin1 text: one character per byte), passed on as bytes. */
  readonly pax?: unknown;
  /** The type byte itself, in place of `type` (a type no extractor knows: extraction.ts). */
  readonly typeflag?: string;
}

export interface TarItem {
  readonly header: EntryHeader;
  /** A file's bytes: exactly header.size of them. */
  readonly body?: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>;
}

const TYPEFLAG: Record<EntryType, string> = {
  file: '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6', 'contiguous-file': '7',
};
const BLOCK = 512;
/** The largest size the ustar field holds in octal (11 digits). */
const MAX_OCTAL_SIZE = 0o77777777777;

const hasBody = (h: EntryHeader): boolean => (!h.typeflag && (h.type ?? 'file') === 'file') || h.type === 'contiguous-file';

function octal(buf: Buffer, at: number, width: number, n: number): void {
  buf.write(`${Math.max(0, Math.floor(n)).toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1');
}

/** One pax record: `LEN key=value\n`, LEN counting itself. */
function record(key: string, value: Uint8Array): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`, 'latin1'), value, Buffer.from('\n')]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), rest]);
}

/** A 512-byte ustar header block. `name` and `linkname` are bytes that fit (the caller sees to it). */
function headerBlock(h: EntryHeader, name: Buffer, linkname: Buffer, size: number, typeflag: string): Buffer {
  const b = Buffer.alloc(BLOCK);
  name.copy(b, 0);
  octal(b, 100, 8, (h.mode ?? (h.type === 'directory' ? 0o755 : 0o644)) & 0o7777);
  octal(b, 108, 8, h.uid ?? 0);
  octal(b, 116, 8, h.gid ?? 0);
  octal(b, 124, 12, Math.min(size, MAX_OCTAL_SIZE)); // a larger size is in the pax header
  octal(b, 136, 12, Math.floor((h.mtime ?? new Date()).getTime() / 1000));
  b.write(typeflag, 156, 1, 'latin1');
  linkname.copy(b, 157);
  b.write('ustar\u000000', 257, 8, 'latin1');
  b.write((h.uname ?? '').slice(0, 31), 265, 32, 'latin1');
  b.write((h.gname ?? '').slice(0, 31), 297, 32, 'latin1');
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

const padding = (n: number): Buffer => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
const plain = (bytes: Uint8Array): boolean => bytes.length <= 100 && bytes.every((c) => c > 0 && c < 0x80);

/** The blocks that begin an entry: its pax header (when needed) and its ustar header. */
export function entryHead(h: EntryHeader): Buffer {
  const typeflag = h.typeflag ?? TYPEFLAG[h.type ?? 'file'];
  const size = hasBody(h) ? h.size ?? 0 : 0;
  let name = Buffer.from(nameBytes(h.name));
  if (h.type === 'directory' && !name.toString('latin1').endsWith('/')) name = Buffer.concat([name, Buffer.from('/')]);
  const link = Buffer.from(nameBytes(h.linkname ?? ''));
  const extra = h.pax && typeof h.pax === 'object' ? Object.entries(h.pax as Record<string, unknown>)
    .filter(([k, v]) => k !== 'path' && k !== 'linkpath' && k !== 'size' && typeof v === 'string') as [string, string][] : [];
  const records: Buffer[] = [];
  if (!plain(name)) records.push(record('path', name));
  if (link.length > 0 && !plain(link)) records.push(record('linkpath', link));
  if (size > MAX_OCTAL_SIZE) records.push(record('size', Buffer.from(String(size))));
  for (const [k, v] of extra) records.push(record(k, Buffer.from(v, 'latin1')));
  const head = headerBlock(h, plain(name) ? name : Buffer.from('dbox-pax-name'), plain(link) ? link : Buffer.from(link.length ? 'dbox-pax-link' : ''),
    size, typeflag);
  if (records.length === 0) return head;
  const body = Buffer.concat(records);
  const paxHead = headerBlock({name: 'PaxHeader', mode: 0o644, ...(h.mtime ? {mtime: h.mtime} : {})}, Buffer.from('PaxHeader'), Buffer.alloc(0),
    body.length, 'x');
  return Buffer.concat([paxHead, body, padding(body.length), head]);
}

/** The bytes of a tar of `items`, in order; an error of a body (or a body of the wrong size) ends it with that error. */
export async function* tarChunks(items: Iterable<TarItem> | AsyncIterable<TarItem>): AsyncGenerator<Buffer> {
  for await (const {header, body} of items) {
    yield entryHead(header);
    if (!hasBody(header)) continue;
    const size = header.size ?? 0;
    let sent = 0;
    if (body) {
      // A stream body stays its owner's: never destroyed here, also when the tar ends early (a
      // stream over a descriptor it does not own would close that descriptor).
      const chunks = body instanceof Readable ? body.iterator({destroyOnReturn: false}) : body;
      for await (const chunk of chunks) {
        const c = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (sent + c.length > size) throw new Error(`${header.name}: more bytes than the ${size} announced`);
        sent += c.length;
        yield c;
      }
    }
    if (sent !== size) throw new Error(`${header.name}: ${sent} bytes of the ${size} announced`);
    yield padding(size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** tarChunks as a stream (what the archive API's PUT takes). */
export const tarStream = (items: Iterable<TarItem> | AsyncIterable<TarItem>): Readable => Readable.from(tarChunks(items), {objectMode: false});
