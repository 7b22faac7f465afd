// The wire format between dbox and native/builtin-client.c (pure): frames of
// u32 length (little-endian, counting the type byte) | u8 type | payload. A builtin call's first
// frame ('B') carries NUL-terminated strings: the working directory, argc, argv, then the
// environment; a line request ('L') carries the last status and the working directory.
// Strings are bytes (file names bash globbed need not be UTF-8): a byte that is not part of valid
// UTF-8 becomes U+DC00+byte, as every name in dbox is carried (src/format/utf8.ts), and back.
import {bytesName, nameBytes} from '../format/utf8.js';

export const MAX_FRAME = 64 << 20;

export interface Frame {
  readonly type: string;
  readonly payload: Buffer;
}

export function encodeFrame(type: string, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(5);
  head.writeUInt32LE(body.length + 1, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** Accumulates bytes and yields whole frames; throws on a frame that cannot be valid. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Frame[] = [];
    while (this.buffer.length >= 5) {
      const n = this.buffer.readUInt32LE(0);
      if (n < 1 || n > MAX_FRAME) throw new Error(`bad frame length ${n}`);
      if (this.buffer.length < 4 + n) break;
      frames.push({type: this.buffer.toString('latin1', 4, 5), payload: this.buffer.subarray(5, 4 + n)});
      this.buffer = this.buffer.subarray(4 + n);
    }
    return frames;
  }
}

/** NUL-terminated strings, as the client packs them. */
export function splitStrings(payload: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) {
      out.push(bytesName(payload.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < payload.length) out.push(bytesName(payload.subarray(start)));
  return out;
}

export const joinStrings = (strings: readonly string[]): Buffer => Buffer.concat(strings.flatMap((s) => [nameBytes(s), Buffer.of(0)]));

export interface BuiltinCall {
  readonly cwd: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Parses a 'B' payload; undefined when malformed. */
export function parseCall(payload: Buffer): BuiltinCall | undefined {
  const s = splitStrings(payload);
  const argc = Number(s[1]);
  if (s.length < 2 || !Number.isInteger(argc) || argc < 1 || s.length < 2 + argc) return undefined;
  const env: Record<string, string> = {};
  for (const e of s.slice(2 + argc)) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return {cwd: s[0]!, argv: s.slice(2, 2 + argc), env};
}

/** Parses an 'L' payload: the status of the line that ended and bash's $PWD. */
export function parseLineRequest(payload: Buffer): {status: number; cwd: string} | undefined {
  const [status, cwd] = splitStrings(payload);
  const n = Number(status);
  if (!Number.isInteger(n) || n < 0 || n > 255 || cwd === undefined) return undefined;
  return {status: n, cwd};
}

/** An 'E' payload: run this program with the terminal, in the job's process group. */
export const execRequest = (cwd: string, argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Buffer =>
  joinStrings([cwd, String(argv.length), ...argv, ...Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`)]);
