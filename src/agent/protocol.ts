// The dbox agent's wire protocol, client side (native/agent/protocol.h is the other side; keep
// them in step). Pure: encoding requests, cutting the byte stream into frames, and decoding
// answers. Unit-tested (test/unit/agent-protocol.test.ts).
//
// What it trusts: nothing the agent sends. The agent runs on another host's kernel, under an
// engine that may lie, and reads containers that may be hostile, so every frame is checked
// before anything else sees it: a frame's length is bounded (AGENT_MAX_PAYLOAD), a stat's fields
// are in range (a known file type, sizes and ids within Number's exact integers, nanoseconds
// below 1e9), a name is one path component (not empty, no '/', no NUL, not '.' or '..', at most
// 255 bytes), a link target has no NUL and fits PATH_MAX. What does not pass is a ProtocolError,
// which ends the session (the client rejects every request of it).
import type {DirEntry, FileType, Stat} from '../vfs/types.js';
import {fileType} from '../vfs/types.js';
import {bytesName, nameBytes} from '../format/utf8.js';

export const VERSION = 1;
export const HEADER = 12;
export const MAX_PAYLOAD = (1 << 20) + 4096;
export const CHUNK = 256 << 10;
export const WINDOW = 4 << 20;
export const STAT_LEN = 128;
export const PATH_MAX = 4096;
export const NAME_MAX = 255;

/** Request types (client → agent). */
export const Op = {
  HELLO: 1, ROOT: 2, ROOT_CLOSE: 3, ROOT_MERGED: 4, ROOT_LAYERS: 5, STAT: 10, READDIR: 11, READLINK: 12, READ: 13, WRITE: 14, WDATA: 15, WEND: 16,
  MKDIR: 17, RMDIR: 18, UNLINK: 19, RENAME: 20, SYMLINK: 21, LINK: 22, CHMOD: 23, CHOWN: 24, UTIMES: 25, TRUNCATE: 26,
  STATFS: 27, REMOVE: 28, COPY_TREE: 29, COPY_FILE: 30, FD_CHANNEL: 31, OPEN_FD: 32, COMMIT: 33, DOOR: 34, CANCEL: 40, CREDIT: 41,
} as const;

/** Answer types (agent → client). */
export const Reply = {OK: 100, ERR: 101, DATA: 102, META: 103, WCREDIT: 104, ENTRIES: 105} as const;

/** WRITE flags. */
export const WRITE_EXCL = 1;

export class ProtocolError extends Error {}

export interface Frame {
  readonly id: number;
  readonly type: number;
  readonly payload: Buffer;
}

export function frame(id: number, type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt32LE(payload.length, 0);
  h.writeUInt32LE(id, 4);
  h.writeUInt16LE(type, 8);
  return payload.length ? Buffer.concat([h, payload]) : h;
}

/** Cuts a byte stream into frames; throws ProtocolError on a frame longer than MAX_PAYLOAD. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(data: Buffer): Frame[] {
    this.chunks.push(data);
    this.buffered += data.length;
    const out: Frame[] = [];
    for (;;) {
      if (this.buffered < HEADER) break;
      const head = this.peek(HEADER);
      const len = head.readUInt32LE(0);
      if (len > MAX_PAYLOAD) throw new ProtocolError(`a frame of ${len} bytes (at most ${MAX_PAYLOAD})`);
      if (head.readUInt16LE(10) !== 0) throw new ProtocolError('a frame with flags');
      if (this.buffered < HEADER + len) break;
      const whole = this.take(HEADER + len);
      out.push({id: whole.readUInt32LE(4), type: whole.readUInt16LE(8), payload: whole.subarray(HEADER)});
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const out = first.subarray(0, n);
    this.chunks[0] = first.subarray(n);
    if (this.chunks[0].length === 0) this.chunks.shift();
    this.buffered -= n;
    return out;
  }
}

/** Builds a payload field by field (little-endian). */
export class Payload {
  private parts: Buffer[] = [];

  u8(v: number): this {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }

  i64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(Math.trunc(v)));
    this.parts.push(b);
    return this;
  }

  /** A path or a link target: shorter than PATH_MAX, no NUL (the agent would refuse it anyway). */
  str(s: string): this {
    const b = Buffer.from(nameBytes(s)); // a name's own bytes (U+DC00+byte is that byte)
    if (b.length >= PATH_MAX) throw Object.assign(new Error('File name too long'), {code: 'ENAMETOOLONG'});
    if (b.includes(0)) throw Object.assign(new Error('Invalid argument'), {code: 'EINVAL'});
    const h = Buffer.alloc(2);
    h.writeUInt16LE(b.length);
    this.parts.push(h, b);
    return this;
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Reads a payload field by field; any read past its end is a ProtocolError. */
export class Fields {
  private off = 0;

  constructor(private readonly b: Buffer) {}

  private need(n: number): void {
    if (this.b.length - this.off < n) throw new ProtocolError('a short answer');
  }

  u8(): number {
    this.need(1);
    return this.b[this.off++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }

  /** A signed 64-bit integer that must be exact as a Number. */
  i64(): number {
    this.need(8);
    const v = this.b.readBigInt64LE(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new ProtocolError('a number out of range');
    return Number(v);
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  str(): Buffer {
    this.need(2);
    const n = this.b.readUInt16LE(this.off);
    this.off += 2;
    return this.bytes(n);
  }

  get left(): number {
    return this.b.length - this.off;
  }

  end(): void {
    if (this.off !== this.b.length) throw new ProtocolError('trailing bytes in an answer');
  }
}

const U32 = 2 ** 32;
const KNOWN_TYPES = new Set([0o010000, 0o020000, 0o040000, 0o060000, 0o100000, 0o120000, 0o140000]);

function inRange(v: number, lo: number, hi: number, what: string): number {
  if (!(v >= lo && v <= hi)) throw new ProtocolError(`${what} out of range`);
  return v;
}

/** A stat as the agent sends it (16 signed 64-bit fields), every field checked. */
export function readStat(f: Fields): Stat {
  const v = Array.from({length: 16}, () => f.i64());
  const [dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, as, ans, ms, mns, cs, cns] = v as [number, ...number[]] & number[];
  if (!KNOWN_TYPES.has(mode! & 0o170000) || mode! > 0o177777 || mode! < 0) throw new ProtocolError('an unknown file type');
  const ns = (n: number): number => inRange(n, 0, 999_999_999, 'nanoseconds');
  return {
    dev: inRange(dev!, 0, Number.MAX_SAFE_INTEGER, 'dev'), ino: inRange(ino!, 0, Number.MAX_SAFE_INTEGER, 'ino'), mode: mode!,
    nlink: inRange(nlink!, 0, U32, 'nlink'), uid: inRange(uid!, 0, U32 - 1, 'uid'), gid: inRange(gid!, 0, U32 - 1, 'gid'),
    rdev: inRange(rdev!, 0, Number.MAX_SAFE_INTEGER, 'rdev'), size: inRange(size!, 0, Number.MAX_SAFE_INTEGER, 'size'),
    blksize: inRange(blksize!, 0, U32, 'blksize'), blocks: inRange(blocks!, 0, Number.MAX_SAFE_INTEGER, 'blocks'),
    atime: {sec: as!, nsec: ns(ans!)}, mtime: {sec: ms!, nsec: ns(mns!)}, ctime: {sec: cs!, nsec: ns(cns!)},
  };
}

/** A name from a listing: one path component. */
export function checkName(raw: Buffer): string {
  if (raw.length === 0 || raw.length > NAME_MAX) throw new ProtocolError('a name of bad length');
  if (raw.includes(0x2f) || raw.includes(0)) throw new ProtocolError('a name with "/" or NUL');
  const name = bytesName(raw); // bytes that are not UTF-8 as dbox names them (U+DC00+byte)
  if (name === '.' || name === '..') throw new ProtocolError('"." or ".." as a name');
  return name;
}

/** A link target: no NUL, shorter than PATH_MAX (it is data: resolved later, in-root). */
export function checkTarget(raw: Buffer): string {
  if (raw.length >= PATH_MAX || raw.includes(0)) throw new ProtocolError('a bad link target');
  return bytesName(raw);
}

// d_type values from <dirent.h>
const DT: Record<number, FileType> = {0: 'unknown', 1: 'fifo', 2: 'char', 4: 'dir', 6: 'block', 8: 'file', 10: 'symlink', 12: 'socket', 14: 'unknown'};

/** An entry of a listing, with its link target when it is a symlink the agent could read. */
export interface ListedEntry extends DirEntry {
  readonly target?: string;
}

/** The entries of one ENTRIES frame. */
export function readEntries(payload: Buffer): ListedEntry[] {
  const f = new Fields(payload);
  const out: ListedEntry[] = [];
  while (f.left > 0) {
    const name = checkName(f.str());
    const dtype = f.u8();
    const has = f.u8();
    if (!(dtype in DT) || has > 3) throw new ProtocolError('a bad entry');
    const stat = has & 1 ? readStat(f) : undefined;
    const target = has & 2 ? checkTarget(f.str()) : undefined;
    // The entry's type from its stat when there is one (the same object, so both agree).
    const type = stat ? fileType(stat.mode) : DT[dtype]!;
    if (target !== undefined && type !== 'symlink') throw new ProtocolError('a link target for what is not a link');
    out.push({name, type, ...(stat ? {stat} : {}), ...(target !== undefined ? {target} : {})});
  }
  return out;
}

/** An errno number from an ERR frame as a code ("ENOENT"); EIO for what is not one. */
export function errnoCode(n: number, names: Record<number, string>): string {
  const code = names[n];
  return code && /^E[A-Z0-9]+$/.test(code) ? code : 'EIO';
}
