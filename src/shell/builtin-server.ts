// dbox's side of the builtin socket (the client is native/builtin-client.c, called by the
// session's bash through the functions that src/shell/session.bash defines). Each call runs one
// builtin in this process on the caller's own stdin, stdout and stderr, with the caller's argv,
// working directory and environment, while the caller waits in its job's process group:
//
//   caller → dbox   B (first frame, with the 3 descriptors)   I interrupt   T stop   C continued
//                   D stdin bytes (empty: EOF)   e stdin error   X status of a program it ran
//   dbox → caller   S exit status   K die by this signal   P output paused (stop now)
//                   r read up to N bytes of stdin   E run this program with the terminal
//
// An interactive session's bash also asks here for its next line (L → O, src/shell/line-driver.ts).
//
// What it trusts: the caller is a process of this user (the native part checks the peer's uid,
// and the socket's directory is the user's own, mode 0700); its frames are still parsed
// defensively (a malformed one ends the call), and the descriptors it sends are only written to
// (stdout, stderr) or never touched (stdin, which the caller reads itself).
import fs from 'node:fs';
import net from 'node:net';
import {native, type BuiltinConnection} from '../native.js';
import type {Namespace} from '../vfs/namespace.js';
import {CallerStdin, fdOutput, finish, OutputState} from './client-io.js';
import type {Registry, ShellContext} from './context.js';
import {encodeFrame, execRequest, FrameReader, parseCall, parseLineRequest, type Frame} from './frames.js';
import {runBuiltin} from './run-builtin.js';
import {runCaptured} from './run-program.js';
import {Spinner} from './spinner.js';

const SIGINT = 2;
const SIGPIPE = 13;

export interface LineRequest {
  readonly status: number;
  readonly cwd: string;
  /** Answers with the line to run (and ends the request). */
  reply(text: string): void;
}

/** Paths a builtin gets that name the calling process itself (`cat <(cmd)` is /dev/fd/63,
 *  `cat /proc/self/mountinfo`) are opened through the caller's /proc entry: in dbox they would
 *  name dbox's own descriptors and its view of the mounts. */
export function callerPath(arg: string, pid: number): string {
  const std: Record<string, number> = {'/dev/stdin': 0, '/dev/stdout': 1, '/dev/stderr': 2};
  if (arg in std) return `/proc/${pid}/fd/${std[arg]}`;
  const fd = /^\/dev\/fd\/(\d+)$/.exec(arg);
  if (fd) return `/proc/${pid}/fd/${fd[1]}`;
  const self = /^\/proc\/(?:self|thread-self)(\/.*)?$/.exec(arg);
  return self ? `/proc/${pid}${self[1] ?? ''}` : arg;
}

export class BuiltinServer {
  private readonly handle: unknown;
  /** Builtins running now (the namespace's per-command caches are refreshed only between them). */
  private active = 0;
  /** How to interrupt each builtin running now (as its client's 'I' frame does). */
  private readonly running = new Set<() => void>();
  /** Waiting for no builtin to run (settled). */
  private readonly whenSettled: (() => void)[] = [];
  /** Called for each line request of an interactive session's bash. */
  onLineRequest: ((request: LineRequest) => void) | undefined;

  private constructor(readonly path: string, private readonly ns: Namespace, private readonly registry: Registry) {
    this.handle = native().listenBuiltins(path, (c) => this.accept(c));
  }

  static listen(path: string, ns: Namespace, registry: Registry): BuiltinServer {
    return new BuiltinServer(path, ns, registry);
  }

  close(): void {
    native().closeBuiltins(this.handle);
    try {
      fs.unlinkSync(this.path);
    } catch { /* gone already */ }
  }

  /** Interrupts every builtin running now: dbox itself was sent SIGINT (not only its terminal's jobs). */
  interruptAll(): void {
    for (const interrupt of this.running) interrupt();
  }

  /** Resolves once no builtin runs (each has cleaned up after itself: a copy removes its
   *  temporary), or after `ms`. */
  settled(ms: number): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.whenSettled.push(done);
    });
  }

  private accept(c: BuiltinConnection): void {
    if (c.type === 'B' && c.fds.length === 3) {
      void this.call(c);
      return;
    }
    for (const fd of c.fds) fs.close(fd, () => undefined);
    const request = c.type === 'L' ? parseLineRequest(c.payload) : undefined;
    const socket = new net.Socket({fd: c.fd, readable: true, writable: true});
    socket.on('error', () => undefined);
    if (!request || !this.onLineRequest) {
      socket.destroy();
      return;
    }
    let answered = false;
    this.onLineRequest({
      ...request,
      reply(text) {
        if (answered) return;
        answered = true;
        socket.end(encodeFrame('O', text));
      },
    });
  }

  private async call(c: BuiltinConnection): Promise<void> {
    const [stdinFd, stdoutFd, stderrFd] = c.fds as [number, number, number];
    const socket = new net.Socket({fd: c.fd, readable: true, writable: true});
    const send = (type: string, payload?: string | Buffer): void => {
      if (!socket.destroyed) socket.write(encodeFrame(type, payload));
    };
    const controller = new AbortController();
    let interrupted = false;
    const interrupt = (): void => {
      interrupted = true;
      controller.abort();
    };
    this.running.add(interrupt);
    const state = new OutputState(stdoutFd);
    state.onBroken = () => controller.abort();
    const stdin = new CallerStdin((max) => send('r', String(max)));
    let programDone: ((status: number) => void) | undefined;
    const reader = new FrameReader();
    const onFrame = (f: Frame): void => {
      switch (f.type) {
        case 'I':
          interrupt();
          break;
        case 'T':
          // Stop now: once no write of the builtin is left in the kernel.
          void state.pause().then(() => send('P'));
          break;
        case 'C':
          state.resume();
          break;
        case 'D':
          stdin.deliver(Buffer.from(f.payload));
          break;
        case 'e':
          stdin.fail(f.payload.toString());
          break;
        case 'X':
          programDone?.(Number(f.payload.toString()) || 0);
          programDone = undefined;
          break;
        default:
          socket.destroy();
      }
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) onFrame(f);
      } catch {
        socket.destroy();
      }
    });
    // The caller went away (killed, or a malformed frame): stop the builtin, write nothing more.
    socket.on('close', () => {
      state.markBroken();
      controller.abort();
      programDone?.(129);
      stdin.deliver(Buffer.alloc(0));
    });
    socket.on('error', () => undefined);

    const call = parseCall(c.payload);
    let status = 1;
    let stdout: ReturnType<typeof fdOutput> | undefined;
    let stderr: ReturnType<typeof fdOutput> | undefined;
    try {
      if (!call) throw new Error('malformed builtin call');
      stdout = fdOutput(stdoutFd, state, true);
      stderr = fdOutput(stderrFd, state, false);
      const env = call.env;
      const ctx: ShellContext = {
        cwd: call.cwd, home: env['HOME'] ?? '/', env, ns: this.ns, stdin, stdinIsTTY: native().winsize(stdinFd) !== undefined,
        stdout, stderr, signal: controller.signal, color: stdout.isTTY && env['NO_COLOR'] === undefined,
        run: (program, args, options = {}) => new Promise<number>((resolve) => {
          programDone = resolve;
          send('E', execRequest(options.cwd ?? call.cwd, [program, ...args], options.env ?? env));
        }),
        capture: runCaptured,
        now: Date.now,
      };
      if (this.active++ === 0) this.ns.refresh();
      // A slow engine call shows a spinner on a terminal stderr (the engine's one hook: the latest call has it).
      const spinner = stderr.isTTY ? new Spinner(stderr.stream as unknown as NodeJS.WriteStream) : undefined;
      const engine = this.ns.engine;
      const before = engine.onActivity;
      const mine = spinner ? (pending: number): void => spinner.activity(pending) : undefined;
      if (spinner) {
        spinner.enabled = true;
        engine.onActivity = mine;
      }
      try {
        status = await runBuiltin(this.registry, call.argv.map((a, i) => (i === 0 ? a : callerPath(a, c.pid))), ctx);
      } finally {
        this.active--;
        if (spinner) {
          spinner.stop();
          if (engine.onActivity === mine) engine.onActivity = before;
        }
      }
      await Promise.all([finish(stdout), finish(stderr)]);
    } catch {
      status = 1;
    } finally {
      this.running.delete(interrupt);
      for (const fd of c.fds) fs.close(fd, () => undefined);
      if (this.running.size === 0) for (const done of this.whenSettled.splice(0)) done();
    }
    if (state.broken) send('K', String(SIGPIPE));
    else if (interrupted) send('K', String(SIGINT));
    else send('S', String(status & 255));
    socket.end();
  }
}
