// The session's FUSE mount, supervised: `dbox mount /containers --foreground` (src/fuse, its own
// process) started inside the session's mount namespace, where it appears at /containers (and its
// .hosts at /hosts), in a session of its own (setsid), so the terminal's signals (one Ctrl-C)
// never reach it or its dbox-fuse. Its messages go to a log file, never onto the prompt. When it
// dies it is started again (with a one-line notice), unless it keeps dying right after starting.
//
// It is started at the beginning of the session, before any command needs it; lines wait for it
// only while it is (re)starting (whenSettled).
import {spawn, type ChildProcess, type StdioOptions} from 'node:child_process';
import fs from 'node:fs';
import {constants} from 'node:os';
import path from 'node:path';
import type {Readable} from 'node:stream';
import {dboxLauncher, namespaceHelper} from '../self.js';

export const MOUNT_POINT = '/containers';

/** Where the mount's messages go: $XDG_STATE_HOME/dbox/mount.log (default ~/.local/state). */
export function mountLogPath(env: NodeJS.ProcessEnv): string {
  const state = env['XDG_STATE_HOME'] || path.join(env['HOME'] || '/root', '.local', 'state');
  return path.join(state, 'dbox', 'mount.log');
}
export const HOSTS_POINT = '/hosts';
const LOG_MAX = 1 << 20;
/** A mount that dies within this long of being ready counts as failing to start. */
const QUICK_DEATH_MS = 5_000;
const MAX_QUICK_DEATHS = 3;

export interface NamespaceFds {
  readonly mntns: number;
  readonly userns?: number;
}

export type MountState = 'starting' | 'ready' | 'failed' | 'stopped';

export class SessionMount {
  state: MountState = 'starting';
  private child: ChildProcess | undefined;
  private readyAt = 0;
  private quickDeaths = 0;
  private waiters: (() => void)[] = [];

  /** `notice` gets one-line messages for the user (restarts, failures). */
  constructor(private readonly ns: NamespaceFds, readonly logFile: string, private readonly notice: (line: string) => void) {}

  /** Resolves once the mount is ready, has failed, or was stopped. */
  whenSettled(): Promise<void> {
    return this.state === 'starting' ? new Promise((r) => this.waiters.push(r)) : Promise.resolve();
  }

  private settle(state: MountState): void {
    this.state = state;
    if (state === 'starting') return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private enterArgs(): string[] {
    return ['enter', '--mntns-fd', '4', ...(this.ns.userns !== undefined ? ['--userns-fd', '5'] : [])];
  }

  private stdio(log: number, extra: 'pipe' | 'ignore'): StdioOptions {
    return [extra, 'ignore', log, 'pipe', this.ns.mntns, ...(this.ns.userns !== undefined ? [this.ns.userns] : [])];
  }

  private openLog(): number {
    fs.mkdirSync(path.dirname(this.logFile), {recursive: true, mode: 0o700});
    const big = (fs.statSync(this.logFile, {throwIfNoEntry: false})?.size ?? 0) > LOG_MAX;
    return fs.openSync(this.logFile, big ? 'w' : 'a', 0o600);
  }

  start(): void {
    this.settle('starting');
    const log = this.openLog();
    const nonRoot = this.ns.userns !== undefined;
    const child = spawn(namespaceHelper, [...this.enterArgs(), '--detach', HOSTS_POINT, '--detach', MOUNT_POINT, '--setsid',
      ...(nonRoot ? ['--ambient-sys-admin'] : []), '--',
      process.execPath, dboxLauncher, 'mount', MOUNT_POINT, '--foreground', '--parent-pipe', '--ready-fd', '3'],
    {stdio: this.stdio(log, 'pipe')});
    fs.closeSync(log);
    this.child = child;
    child.stdin?.on('error', () => undefined);
    // The mount must not keep dbox alive, nor dbox wait for it.
    child.unref();
    for (const s of [child.stdin, child.stdio[3]]) (s as unknown as {unref?: () => void} | null)?.unref?.();
    let mounted = false;
    (child.stdio[3] as Readable).once('data', () => {
      mounted = true;
      void this.bindHosts().then(() => {
        if (this.child !== child) return;
        this.readyAt = Date.now();
        this.settle('ready');
      });
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.state === 'stopped') return;
      const how = signal ? `killed by ${signal}` : `exit status ${code}`;
      if (!this.everReady) {
        this.notice(`dbox: other commands cannot reach ${MOUNT_POINT}: the mount did not start (${this.lastLogLine() || how}; log: ${this.logFile})`);
        this.settle('failed');
        return;
      }
      const quick = !mounted || Date.now() - this.readyAt < QUICK_DEATH_MS;
      this.quickDeaths = quick ? this.quickDeaths + 1 : 0;
      if (this.quickDeaths >= MAX_QUICK_DEATHS) {
        this.notice(`dbox: the mount of ${MOUNT_POINT} keeps stopping (${how}); not restarting it (log: ${this.logFile})`);
        this.settle('failed');
        return;
      }
      this.notice(`dbox: the mount of ${MOUNT_POINT} stopped (${how}); started it again (log: ${this.logFile})`);
      this.start();
    });
  }

  private get everReady(): boolean {
    return this.readyAt > 0;
  }

  /** /hosts: the mount's .hosts directory, bound in its own place. */
  private bindHosts(): Promise<void> {
    const log = this.openLog();
    const child = spawn(namespaceHelper, [...this.enterArgs(), '--bind', `${MOUNT_POINT}/.hosts`, HOSTS_POINT],
      {stdio: this.stdio(log, 'ignore')});
    fs.closeSync(log);
    return new Promise((resolve) => {
      child.on('exit', () => resolve());
      child.on('error', () => resolve());
    });
  }

  private lastLogLine(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').pop()?.replace(/^dbox: (mount: )?/, '') ?? '';
    } catch {
      return '';
    }
  }

  /** Ends the mount (dbox is exiting) and waits until it has: it unmounts itself and removes its
   *  directories; the namespace goes with its last process. A mount that does not end in time is killed. */
  async stop(timeoutMs = 3000): Promise<void> {
    this.settle('stopped');
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    child.kill(constants.signals.SIGTERM);
    const timer = setTimeout(() => child.kill(constants.signals.SIGKILL), timeoutMs);
    await gone;
    clearTimeout(timer);
  }
}
