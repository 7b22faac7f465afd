// A builtin's stdout and stderr are the caller's own descriptors (received over the builtin
// socket), and its stdin is read by the caller on request (src/shell/builtin-server.ts).
//
// Writes go through fs.write on the libuv thread pool: the descriptors stay blocking, as the
// caller and the other processes of its pipeline expect (setting O_NONBLOCK on a shared pipe or
// terminal would break them), and a full pipe blocks a pool thread, not dbox. A write may be held
// (Ctrl-Z pauses the builtin's output), and a stdout whose reader has gone turns every later write
// of the builtin into nothing (the caller then dies by SIGPIPE, as a command does).
import fs from 'node:fs';
import {Readable, Writable} from 'node:stream';
import {native} from '../native.js';
import type {Output} from './context.js';

/** Shared by a call's outputs: paused by Ctrl-Z, broken when stdout lost its reader. */
export class OutputState {
  private paused = false;
  private waiting: (() => void)[] = [];
  /** Writes handed to the kernel and not yet returned (a full terminal or pipe holds them). */
  private writing = 0;
  private drained: (() => void)[] = [];
  /** stdout's reader has gone (EPIPE, or poll says so). */
  broken = false;
  onBroken: () => void = () => undefined;

  constructor(private readonly stdoutFd: number) {}

  /** Holds every later write; resolves once none is in the kernel any more, so that nothing of
   *  the builtin reaches its output after the caller has stopped (Ctrl-Z). */
  pause(): Promise<void> {
    this.paused = true;
    return this.writing === 0 ? Promise.resolve() : new Promise((r) => this.drained.push(r));
  }

  /** Runs one write to the kernel, counted (pause waits for it). */
  async counted<T>(write: () => Promise<T>): Promise<T> {
    this.writing++;
    try {
      return await write();
    } finally {
      if (--this.writing === 0) {
        const d = this.drained;
        this.drained = [];
        for (const f of d) f();
      }
    }
  }

  resume(): void {
    this.paused = false;
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  whenRunning(): Promise<void> {
    return this.paused ? new Promise((r) => this.waiting.push(r)) : Promise.resolve();
  }

  /** True (and from then on) when stdout's reader has gone. */
  checkBroken(): boolean {
    if (!this.broken && native().widowed(this.stdoutFd)) this.markBroken();
    return this.broken;
  }

  markBroken(): void {
    if (this.broken) return;
    this.broken = true;
    this.onBroken();
  }
}

/** Largest single write to a terminal (as GNU cat writes): output still pausable by Ctrl-Z between writes. */
const TTY_WRITE = 64 * 1024;

class FdWritable extends Writable {
  constructor(private readonly fd: number, private readonly state: OutputState, private readonly isStdout: boolean,
    private readonly maxWrite: number) {
    super({decodeStrings: true});
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    void this.writeAll(chunk).then(() => callback(), () => callback());
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      // Each piece waits while paused (a large chunk is written in pieces, each pausable).
      await this.state.whenRunning();
      // A command whose stdout is gone is dead: nothing more of it reaches any output.
      if (this.state.broken || (!this.isStdout && this.state.checkBroken())) return;
      try {
        offset += await this.state.counted(() => new Promise<number>((resolve, reject) =>
          fs.write(this.fd, chunk, offset, Math.min(chunk.length - offset, this.maxWrite), null, (error, n) => (error ? reject(error) : resolve(n)))));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue;
        if (this.isStdout && (code === 'EPIPE' || code === 'ECONNRESET')) this.state.markBroken();
        return; // other errors (EIO of a closed terminal, ENOSPC…) lose the rest of this write
      }
    }
  }
}

/** An Output over a received descriptor. Terminals get no raw fd: their output must stay pausable. */
export function fdOutput(fd: number, state: OutputState, isStdout: boolean): Output {
  const isTTY = native().winsize(fd) !== undefined;
  const stream = new FdWritable(fd, state, isStdout, isTTY ? TTY_WRITE : Number.MAX_SAFE_INTEGER);
  return {
    stream,
    ...(isTTY ? {} : {fd}),
    isTTY,
    get columns() {
      return native().winsize(fd)?.[1] || 80;
    },
  };
}

/** Ends an Output and waits until everything written to it has been handed to the kernel. */
export function finish(output: Output): Promise<void> {
  const s = output.stream;
  if (s.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    s.once('finish', resolve);
    s.once('error', () => resolve());
    s.end();
  });
}

/** stdin read by the caller, one request at a time: `request(n)` asks it for up to n bytes. */
export class CallerStdin extends Readable {
  private pending = false;

  constructor(private readonly request: (max: number) => void) {
    super({highWaterMark: 64 * 1024});
  }

  override _read(size: number): void {
    if (this.pending) return;
    this.pending = true;
    this.request(Math.max(1, Math.min(size, 64 * 1024)));
  }

  /** Bytes from the caller; an empty buffer is end of file. */
  deliver(data: Buffer): void {
    this.pending = false;
    this.push(data.length === 0 ? null : data);
  }

  fail(message: string): void {
    this.pending = false;
    this.destroy(Object.assign(new Error(message), {code: 'EIO'}));
  }
}
