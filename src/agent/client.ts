// One session with a dbox agent: many requests in flight over one stream, answered in any order
// (ids), reads and writes streamed in chunks with credit flow control, cancellation. Knows the
// protocol (protocol.ts), not containers or paths (src/vfs/agent-fs.ts gives those meaning).
//
// What it trusts: nothing of what arrives. Frames are cut and checked by protocol.ts; here, each
// answer must belong to a request in flight and be of a kind that request takes; a read may not
// send more than its window beyond what was acknowledged, nor more bytes than asked; a listing's
// count must match its entries; a write may not be acknowledged beyond what was sent. Anything
// else is a ProtocolError that ends the session: every request in flight fails, and the next one
// gets a new session (session.ts).
import os from 'node:os';
import {Readable} from 'node:stream';
import type {AgentTransport} from '../docker/agent-stream.js';
import type {Stat} from '../vfs/types.js';
import {checkName, checkTarget, CHUNK, errnoCode, Fields, FrameReader, frame, Op, Payload, ProtocolError, readEntries, readStat, Reply,
  WINDOW, type Frame, type ListedEntry} from './protocol.js';

/** An error the agent answered: an errno code for the request's path. */
export class AgentErrno extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** The session ended (the agent stopped, the connection broke, or it broke the protocol). */
export class AgentLost extends Error {}

/** errno numbers to names; where two names share a number (EAGAIN, EWOULDBLOCK) the first, usual one. */
const errnoNames: Record<number, string> = {};
for (const [name, n] of Object.entries(os.constants.errno)) errnoNames[n] ??= name;

interface InFlight {
  readonly op: number;
  resolve(payload: Buffer): void;
  reject(error: Error): void;
  /** Frames before the answer (DATA, META, ENTRIES, WCREDIT), for the kinds this request takes. */
  readonly frames?: ReadonlySet<number>;
  onFrame?(f: Frame): void;
}

export interface WriteSpec {
  readonly exclusive: boolean;
  /** An existing regular file is written in place (its inode, mode, owner and links kept). */
  readonly inPlace?: boolean;
  readonly mode: number;
  readonly owner?: {readonly uid: number; readonly gid: number};
  readonly mtime?: {readonly sec: number; readonly nsec: number};
}

/** The fields of a write (WRITE, and OPEN_FD of kind 1). */
function writeHeader(p: Payload, handle: number, path: string, spec: WriteSpec): Payload {
  return p.u32(handle).u32((spec.exclusive ? 1 : 0) | (spec.inPlace ? 2 : 0)).u32(spec.mode & 0o7777).i64(spec.owner?.uid ?? -1).i64(spec.owner?.gid ?? -1)
    .i64(spec.mtime?.sec ?? -1).u32(spec.mtime?.nsec ?? 0).str(path);
}

export class AgentClient {
  private nextId = 1;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly reader = new FrameReader();
  private lost: AgentLost | undefined;
  private nextHandle = 1;
  private readonly freeHandles: number[] = [];
  /** How many times requests were sent while none was in flight: the round trips a sequence of calls cost. */
  flights = 0;
  /** Called once when the session ends. */
  onLost: ((error: AgentLost) => void) | undefined;
  /** Called when the last request in flight has been answered, and when one is sent after that. */
  onIdle: (() => void) | undefined;
  onBusy: (() => void) | undefined;

  constructor(private readonly transport: AgentTransport, readonly label: string) {
    transport.unref();
  }

  get alive(): boolean {
    return this.lost === undefined;
  }

  /** Bytes from the agent (its stdout, demultiplexed). */
  receive(data: Buffer): void {
    if (this.lost) return;
    try {
      for (const f of this.reader.push(data)) this.dispatch(f);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.end(`the agent on ${this.label} broke the protocol (${error.message})`);
    }
  }

  /** The stream ended: every request in flight fails. */
  end(why: string): void {
    if (this.lost) return;
    this.lost = new AgentLost(why);
    const all = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const r of all) r.reject(this.lost);
    this.transport.close();
    this.onLost?.(this.lost);
  }

  close(): void {
    this.end('closed');
  }

  private dispatch(f: Frame): void {
    const r = this.inFlight.get(f.id);
    if (!r) throw new ProtocolError(`an answer (${f.type}) to no request (${f.id})`);
    if (f.type === Reply.OK || f.type === Reply.ERR) {
      this.inFlight.delete(f.id);
      if (this.inFlight.size === 0) {
        this.transport.unref();
        this.onIdle?.();
      }
      if (f.type === Reply.OK) r.resolve(f.payload);
      else {
        const fields = new Fields(f.payload);
        const n = fields.u32();
        fields.end();
        r.reject(new AgentErrno(errnoCode(n, errnoNames)));
      }
      return;
    }
    if (!r.frames?.has(f.type)) throw new ProtocolError(`an answer of kind ${f.type} to a request of kind ${r.op}`);
    r.onFrame!(f);
  }

  private send(id: number, type: number, payload?: Buffer): void {
    if (this.lost) return;
    this.transport.write(frame(id, type, payload));
  }

  /** Sends a request; `done` settles with its OK payload or its error. */
  private request(op: number, payload: Buffer, frames?: {kinds: ReadonlySet<number>; on(f: Frame): void}): {id: number; done: Promise<Buffer>} {
    if (this.lost) return {id: 0, done: Promise.reject(this.lost)};
    const id = this.nextId++;
    if (this.nextId > 0xffff_fff0) this.nextId = 1;
    const done = new Promise<Buffer>((resolve, reject) => {
      this.inFlight.set(id, {op, resolve, reject, ...(frames ? {frames: frames.kinds, onFrame: frames.on} : {})});
    });
    if (this.inFlight.size === 1) {
      this.flights++;
      this.transport.ref();
      this.onBusy?.();
    }
    this.send(id, op, payload);
    return {id, done};
  }

  /** A request answered by one OK. */
  call(op: number, payload: Payload): Promise<Buffer> {
    return this.request(op, payload.done()).done;
  }

  /** Reads an answer's payload; a breach found there ends the session as any other. */
  private decode<T>(payload: Buffer, read: (f: Fields) => T): T {
    try {
      const f = new Fields(payload);
      const v = read(f);
      f.end();
      return v;
    } catch (error) {
      if (error instanceof ProtocolError) throw this.broken(error.message);
      throw error;
    }
  }

  async hello(): Promise<number> {
    return this.decode(await this.call(Op.HELLO, new Payload().u32(1)), (f) => f.u32());
  }

  /**
   * Opens the root of container `id` (pid proven on the agent's side) under a handle chosen here,
   * so that requests using it can follow at once, in the same round trip. `opened` settles with
   * the agent's verdict.
   */
  openRoot(pid: number, id: string): {handle: number; opened: Promise<void>} {
    const handle = this.freeHandles.pop() ?? this.nextHandle++;
    if (handle >= 1024) return {handle: 0, opened: Promise.reject(new AgentErrno('EMFILE'))};
    const opened = this.call(Op.ROOT, new Payload().u32(handle).u32(pid).raw(Buffer.from(id, 'latin1'))).then((b) => this.decode(b, () => undefined));
    opened.catch(() => this.freeHandles.push(handle));
    return {handle, opened};
  }

  /**
   * A stopped container's root as the engine has it mounted (its MergedDir, while an archive
   * request holds it: Engine.holdRootfs), under a handle chosen here. EAGAIN while not mounted.
   */
  openMergedRoot(merged: string): {handle: number; opened: Promise<void>} {
    const handle = this.freeHandles.pop() ?? this.nextHandle++;
    if (handle >= 1024) return {handle: 0, opened: Promise.reject(new AgentErrno('EMFILE'))};
    const opened = this.call(Op.ROOT_MERGED, new Payload().u32(handle).str(merged)).then((b) => this.decode(b, () => undefined));
    opened.catch(() => this.freeHandles.push(handle));
    return {handle, opened};
  }

  /**
   * Files from the engine's own directories under a handle chosen here (native/layers.c):
   * `read-only`, the union of `layers` (top first; an image's or a stopped container's), or
   * `directory`, the one directory as it is (a volume's). Every path must lie below `dataRoot`
   * (src/docker/layers.ts checks their shape here, the agent again, with no link on the way).
   */
  openLayers(kind: 'read-only' | 'directory', dataRoot: string, layers: readonly string[]): {handle: number; opened: Promise<void>} {
    const handle = this.freeHandles.pop() ?? this.nextHandle++;
    if (handle >= 1024) return {handle: 0, opened: Promise.reject(new AgentErrno('EMFILE'))};
    const p = new Payload().u32(handle).u8(kind === 'directory' ? 1 : 0).str(dataRoot).raw(Buffer.from([layers.length & 0xff, layers.length >> 8]));
    for (const l of layers) p.str(l);
    const opened = this.call(Op.ROOT_LAYERS, p).then((b) => this.decode(b, () => undefined));
    opened.catch(() => this.freeHandles.push(handle));
    return {handle, opened};
  }

  /** Closes a root; settles once no request holds it any more and the agent has closed its fds. */
  async closeRoot(handle: number): Promise<void> {
    await this.call(Op.ROOT_CLOSE, new Payload().u32(handle));
    this.freeHandles.push(handle);
  }

  async stat(handle: number, path: string, follow: boolean): Promise<Stat> {
    return this.decode(await this.call(Op.STAT, new Payload().u32(handle).u8(follow ? 1 : 0).str(path)), readStat);
  }

  async readdir(handle: number, path: string, withStat: boolean): Promise<ListedEntry[]> {
    const entries: ListedEntry[] = [];
    const {done} = this.request(Op.READDIR, new Payload().u32(handle).u8(withStat ? 1 : 0).str(path).done(),
      {kinds: new Set([Reply.ENTRIES]), on: (f) => entries.push(...readEntries(f.payload))});
    const count = this.decode(await done, (f) => f.u32());
    if (count !== entries.length) throw this.broken(`a listing of ${entries.length} entries said ${count}`);
    return entries;
  }

  async readlink(handle: number, path: string): Promise<string> {
    return this.decode(await this.call(Op.READLINK, new Payload().u32(handle).str(path)), (f) => checkTarget(f.str()));
  }

  async statfs(handle: number, path: string): Promise<number[]> {
    const v = this.decode(await this.call(Op.STATFS, new Payload().u32(handle).str(path)), (f) => Array.from({length: 7}, () => f.i64()));
    if (v.some((x) => x < 0)) throw this.broken('a negative statfs figure');
    return v;
  }

  /** Ends the session for a protocol breach found above the frame level; the error to throw. */
  private broken(what: string): AgentLost {
    this.end(`the agent on ${this.label} broke the protocol (${what})`);
    return this.lost!;
  }

  /**
   * Reads a regular file (following links in-root): `length` bytes from `offset` (to the end when
   * absent). Resolves once the agent has opened it, with its stat and a stream of its bytes;
   * destroying the stream early cancels the read.
   */
  read(handle: number, path: string, offset: number, length: number | undefined, wrap: (e: Error) => Error = (e) => e): Promise<{stat: Stat; stream: Readable}> {
    let received = 0; // bytes of DATA so far
    let credited = 0; // bytes acknowledged to the agent (beyond its first window)
    let ended = false;
    let id = 0;
    const stream = new Readable({
      highWaterMark: 1 << 20,
      read: () => grant(),
      destroy: (error, callback) => {
        if (!ended) this.send(id, Op.CANCEL); // the agent stops; its answer still arrives and ends the request
        callback(error);
      },
    });
    // Acknowledge what the reader has taken, in chunks (each CREDIT is a frame).
    const grant = (): void => {
      const taken = received - stream.readableLength;
      if (taken - credited >= CHUNK || (taken > credited && stream.readableLength === 0)) {
        this.send(id, Op.CREDIT, new Payload().u32(taken - credited).done());
        credited = taken;
      }
    };
    let opened!: (st: Stat) => void;
    let failed!: (e: Error) => void;
    const meta = new Promise<Stat>((res, rej) => {
      opened = res;
      failed = rej;
    });
    let stat: Stat | undefined;
    const req = this.request(Op.READ, new Payload().u32(handle).i64(offset).i64(length ?? -1).str(path).done(), {
      kinds: new Set([Reply.META, Reply.DATA]),
      on: (f) => {
        if (f.type === Reply.META) {
          if (stat) throw new ProtocolError('a second META');
          const fields = new Fields(f.payload);
          stat = readStat(fields);
          fields.end();
          opened(stat);
          return;
        }
        if (!stat) throw new ProtocolError('DATA before META');
        received += f.payload.length;
        if (received - credited > WINDOW) throw new ProtocolError('a read beyond its window');
        if (length !== undefined && received > length) throw new ProtocolError('a read beyond its length');
        if (!stream.destroyed) {
          stream.push(f.payload);
          grant();
        }
      },
    });
    id = req.id;
    req.done.then((b) => {
      ended = true;
      const total = this.decode(b, (f) => f.i64());
      if (total !== received) throw this.broken(`a read of ${received} bytes said ${total}`);
      if (!stat) throw this.broken('a read without META');
      stream.push(null);
    }).catch((error: Error) => {
      ended = true;
      // Before META nobody has the stream: the error is the open's. After, it is the stream's.
      if (!stat) failed(error);
      else if (!stream.destroyed) stream.destroy(wrap(error));
    });
    return meta.then((st) => ({stat: st, stream}));
  }

  /**
   * Writes `source` to `path` (replacing it atomically, or failing with EEXIST when `exclusive`):
   * the request and its first bytes leave together, so a small file costs one round trip.
   */
  async write(handle: number, path: string, spec: WriteSpec, source: AsyncIterable<Buffer>): Promise<void> {
    await this.writeStart(handle, path, spec, source).done;
  }

  /**
   * A write in two steps: `sent` settles once every byte of `source` has left (or the write
   * stopped), `done` with the agent's answer (and with the source's error, if it failed).
   */
  writeStart(handle: number, path: string, spec: WriteSpec, source: AsyncIterable<Buffer>): {sent: Promise<void>; done: Promise<void>} {
    let sent = 0;
    let acked = 0;
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    const req = this.request(Op.WRITE, writeHeader(new Payload(), handle, path, spec).done(), {
      kinds: new Set([Reply.WCREDIT]),
      on: (f) => {
        if (f.payload.length !== 4) throw new ProtocolError('a bad WCREDIT');
        acked += f.payload.readUInt32LE(0);
        if (acked > sent) throw new ProtocolError('a write acknowledged beyond what was sent');
        wake?.();
      },
    });
    req.done.catch((error: Error) => {
      failure = error;
      wake?.();
    });
    const waitFor = (ready: () => boolean): Promise<void> => new Promise((resolve) => {
      const check = (): void => {
        if (ready() || failure) {
          wake = undefined;
          resolve();
        }
      };
      wake = check;
      check();
    });
    const pump = async (): Promise<void> => {
      try {
        for await (const chunk of source) {
          for (let off = 0; off < chunk.length; off += CHUNK) {
            const piece = chunk.subarray(off, off + CHUNK);
            await waitFor(() => sent - acked + piece.length <= WINDOW);
            if (failure) break;
            sent += piece.length;
            this.send(req.id, Op.WDATA, piece);
          }
          if (failure) break;
        }
      } catch (error) {
        // The source failed: the agent drops what it has (an unnamed file), nothing is put in place.
        this.send(req.id, Op.CANCEL);
        await req.done.catch(() => undefined);
        throw error;
      }
      if (!failure) this.send(req.id, Op.WEND);
    };
    const left = pump();
    return {sent: left, done: left.then(() => req.done).then(() => undefined)};
  }

  /** Asks for an fd channel in `dir` (this process's, mode 0700): the socket's name there and the token to give it. */
  async fdChannel(pid: number, uid: number, dir: string): Promise<{name: string; token: Buffer}> {
    return this.decode(await this.call(Op.FD_CHANNEL, new Payload().u32(pid).u32(uid).str(dir)), (f) => {
      const name = checkName(f.str());
      if (!/^agent-[0-9a-f]{8}\.sock$/.test(name)) throw new ProtocolError('a bad fd channel name');
      return {name, token: Buffer.from(f.bytes(16))};
    });
  }

  /** Opens a regular file for reading on the agent's side; its fd comes over the fd channel, tagged with the returned id. */
  async openReadFd(handle: number, path: string): Promise<{id: number; stat: Stat}> {
    const req = this.request(Op.OPEN_FD, new Payload().u32(0).u32(handle).str(path).done());
    const stat = this.decode(await req.done, readStat);
    return {id: req.id, stat};
  }

  /** Lends the root of `handle` (one of the agent's own: layers or a volume's directory); its fd comes over the fd channel, tagged with the returned id. */
  async lendRoot(handle: number): Promise<number> {
    const req = this.request(Op.OPEN_FD, new Payload().u32(2).u32(handle).done());
    this.decode(await req.done, () => undefined);
    return req.id;
  }

  /** Opens the new file of a write on the agent's side (as WRITE would); its fd comes over the fd channel, tagged with the returned id. */
  async openWriteFd(handle: number, path: string, spec: WriteSpec): Promise<number> {
    const req = this.request(Op.OPEN_FD, writeHeader(new Payload().u32(1), handle, path, spec).done());
    this.decode(await req.done, () => undefined);
    return req.id;
  }

  /** Puts a file written through its fd in place (keep), or drops it. */
  async commit(id: number, keep: boolean): Promise<void> {
    this.decode(await this.call(Op.COMMIT, new Payload().u32(id).u8(keep ? 1 : 0)), () => undefined);
  }

  /** Asks the agent to leave a door (a socket for our uid) at `dir`/`name` for later sessions. */
  async door(pid: number, uid: number, dir: string, name: string): Promise<void> {
    this.decode(await this.call(Op.DOOR, new Payload().u32(pid).u32(uid).str(dir).str(name)), () => undefined);
  }

  /** Starts long work (removal, copies) as a cancellable request. */
  long(op: number, payload: Payload): {done: Promise<Buffer>; cancel(): void} {
    const req = this.request(op, payload.done(), {kinds: new Set<number>(), on: () => undefined});
    return {done: req.done, cancel: () => this.send(req.id, Op.CANCEL)};
  }
}
