// The agent's byte stream through an exec's hijacked connection: what goes out is the agent's
// stdin as is; what comes in is Docker's stdout/stderr framing (8-byte headers: stream, three
// zero bytes, u32 big-endian length), taken apart here into the protocol's bytes (stdout) and the
// agent's complaints (stderr, kept short, for messages).
//
// What it trusts: nothing of the incoming bytes beyond their framing. A header naming another
// stream than 1 or 2, or a length beyond MAX_DOCKER_FRAME, ends the stream as broken; stderr is
// kept to its last 2 KiB and only ever shown after sanitising (agentComplaint()).
import type {Duplex} from 'node:stream';

const MAX_DOCKER_FRAME = 16 << 20;
const STDERR_KEPT = 2048;

export interface AgentTransport {
  /** Sends bytes to the agent's stdin; false when the caller should wait for drain. */
  write(data: Buffer): boolean;
  onceDrain(callback: () => void): void;
  /** Whether the connection may keep the process alive (while requests are in flight). */
  ref(): void;
  unref(): void;
  close(): void;
}

export interface AgentStreamEvents {
  data(bytes: Buffer): void;
  /** The stream ended or broke; `why` says how, in our words. */
  end(why: string): void;
}

type AgentSocket = Duplex & {ref?(): void; unref?(): void};

/** The transport over `socket`, whose incoming bytes go to `data` (given `end`, to stop on bad
 *  input); the stream ends once, for whichever reason comes first. */
function transportOver(socket: AgentSocket, on: AgentStreamEvents, data: (chunk: Buffer, end: (why: string) => void) => void): AgentTransport {
  let ended = false;
  const end = (why: string): void => {
    if (ended) return;
    ended = true;
    socket.destroy();
    on.end(why);
  };
  socket.on('data', (chunk: Buffer) => data(chunk, end));
  socket.on('end', () => end('the agent ended its stream'));
  socket.on('close', () => end('the connection to the agent closed'));
  socket.on('error', (error: Error) => end(`the connection to the agent failed (${(error as {code?: string}).code ?? error.message})`));
  return {
    write: (bytes) => socket.write(bytes),
    onceDrain: (callback) => socket.once('drain', callback),
    ref: () => socket.ref?.(),
    unref: () => socket.unref?.(),
    close: () => end('closed'),
  };
}

/** Wraps the hijacked socket: demultiplexes what arrives, and offers a transport for what leaves. */
export function agentStream(socket: AgentSocket, on: AgentStreamEvents): {transport: AgentTransport; stderr(): string} {
  let pending: Buffer = Buffer.alloc(0);
  let stderr = '';
  const transport = transportOver(socket, on, (chunk, end) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (pending.length - off >= 8) {
      const kind = pending[off]!;
      const len = pending.readUInt32BE(off + 4);
      if ((kind !== 1 && kind !== 2) || pending[off + 1] !== 0 || pending[off + 2] !== 0 || pending[off + 3] !== 0 || len > MAX_DOCKER_FRAME) {
        end('the engine sent a malformed exec stream');
        return;
      }
      if (pending.length - off - 8 < len) break;
      const body = pending.subarray(off + 8, off + 8 + len);
      off += 8 + len;
      if (kind === 1) on.data(body);
      else stderr = (stderr + body.toString('utf8')).slice(-STDERR_KEPT);
    }
    pending = pending.subarray(off);
  });
  return {transport, stderr: () => stderr};
}

/** A unix socket straight to the agent (its door, on this host): the protocol's bytes both ways, no framing of Docker's. */
export function plainStream(socket: AgentSocket, on: AgentStreamEvents): AgentTransport {
  return transportOver(socket, on, (chunk) => on.data(chunk));
}

/** The agent's stderr as one printable line (its own words, or whatever an engine put there). */
export function agentComplaint(stderr: string): string {
  // eslint-disable-next-line no-control-regex
  return stderr.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(-300);
}
