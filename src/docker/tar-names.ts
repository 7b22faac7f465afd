// Reading names in the engine's tar streams as bytes. A container's file names are bytes that need
// not be UTF-8; dbox carries them in its name codec (src/format/utf8.ts: UTF-8, with each byte
// that is not part of a character as a lone surrogate). tar-stream reads names as UTF-8 text,
// which turns such a byte into U+FFFD: another name (ls shows a name that does not exist, a file
// cannot be read, a tree rewritten through the archive API would be renamed). Here ustar fields
// and GNU long names are decoded as latin1 (one character per byte), and pax records (where the
// engine puts any name that is not ASCII, byte for byte) are parsed as bytes in place of
// tar-stream's UTF-8 parser (a per-instance hook on tar-stream 3.2.2, pinned;
// test/unit/tar-names.test.ts fails if it changes); entryNames() then gives the codec's names.
// Writing is tar-write.ts's. Trusted: nothing; this only keeps bytes as bytes. What a name may be
// is untrusted.ts's to decide.
import tar from 'tar-stream';
import {bytesName} from '../format/utf8.js';

/** The parts of tar-stream's Extract that its pax hook replaces. */
interface ExtractInternals {
  _header: {type?: string} | null;
  _pax: Record<string, string> | null;
  _paxGlobal: Record<string, string> | null;
  _decodeLongHeader(buf: Buffer): void;
}

/** Pax records (`LEN key=value\n`), values as latin1 text (one character per byte); a malformed
 *  record ends the reading (as in tar-stream: the records before it count). */
export function paxRecords(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(buf.toString('latin1', at, space));
    if (!Number.isInteger(len) || len <= space - at + 1 || at + len > buf.length) break;
    const record = buf.subarray(space + 1, at + len - 1); // without the newline
    const eq = record.indexOf(0x3d);
    if (eq < 0) break;
    out[record.toString('latin1', 0, eq)] = record.toString('latin1', eq + 1);
    at += len;
  }
  return out;
}

/** A tar-stream extract that reads every name as bytes (latin1 text); entryNames() then gives the
 *  codec's names. */
export function bytesExtract(): tar.Extract {
  // tar-stream takes the option (its types omit it): ustar fields and GNU long names as latin1.
  const extract = tar.extract({filenameEncoding: 'latin1'} as Parameters<typeof tar.extract>[0]);
  const x = extract as unknown as ExtractInternals;
  if (typeof x._decodeLongHeader !== 'function') throw new Error('tar-stream changed: pax records would be read as UTF-8');
  const original = x._decodeLongHeader.bind(x);
  x._decodeLongHeader = (buf: Buffer): void => {
    const type = x._header?.type;
    if (type === 'pax-header') x._pax = {...(x._paxGlobal ?? {}), ...paxRecords(buf)};
    else if (type === 'pax-global-header') x._paxGlobal = paxRecords(buf);
    else original(buf); // GNU long names: decoded with the extract's filenameEncoding
  };
  return extract;
}

const latin1Name = (s: string): string => bytesName(Buffer.from(s, 'latin1'));

/** An entry's header as read by a readNamesAsBytes extract, with its name and link name in the
 *  name codec (changed in place: the header is the entry's own). */
export function entryNames<H extends {name: string; linkname?: string | null}>(header: H): H {
  header.name = latin1Name(header.name);
  if (header.linkname) header.linkname = latin1Name(header.linkname);
  return header;
}
