// The session's FUSE mount, supervised: `dbox mount DIR --foreground` (src/fuse, its own process,
// in a session of its own (setsid), so the terminal's signals, one Ctrl-C, never reach it or its
// dbox-fuse). Its messages go to a log file, never onto the prompt. When it dies it is started
// again (with a one-line notice), unless it keeps dying right after starting.
//
// Where it is mounted:
//  - root: inside the session's mount namespace, directly at /containers (joined with
//    native/session-ns.c `enter`), .hosts bound on /hosts. Nothing is mounted on the host, and a
//    restart simply mounts again there.
//  - other users: FUSE needs fusermount3 (setuid), which mounts in the host's namespace: at
//    <runtime>/<pid>/containers, a directory only the user can reach, before the namespace is made
//    (which binds it on /containers). A restart is bound again from the namespace when the host
//    propagates the new mount into it (a shared mount, as systemd makes /); otherwise the notice
//    says that /containers comes back with the next dbox.
//
// It is started at the beginning of the session, before any command needs it; lines wait for it
// only while it is (re)starting (whenSettled).
import {spawn, type ChildProcess, type StdioOptions} from 'node:child_process';
import fs from 'node:fs';
import {constants} from 'node:os';
import path from 'node:path';
import {describeFsError} from '../errors.js';
import {quotef} from '../format/quote.js';
import {openLogFile} from '../fuse/log.js';
import {readyOf, StartFailed} from '../fuse/ready.js';
import {dboxLauncher, namespaceHelper} from '../self.js';

export const MOUNT_POINT = '/containers';
export const HOSTS_POINT = '/hosts';
export const IMAGES_POINT = '/images';
export const VOLUMES_POINT = '/volumes';
/** A mount that dies within this long of being ready counts as failing to start. */
const QUICK_DEATH_MS = 5_000;
const MAX_QUICK_DEATHS = 3;
/** How long a mount may take to come up before it is given up. */
const START_DEADLINE_MS = 60_000;

/** Where the mount's messages go: $XDG_STATE_HOME/dbox/mount.log (default ~/.local/state). */
export function mountLogPath(env: NodeJS.ProcessEnv): string {
  const state = env['XDG_STATE_HOME'] || path.join(env['HOME'] || '/root', '.local', 'state');
  return path.join(state, 'dbox', 'mount.log');
}

export interface NamespaceFds {
  readonly mntns: number;
  readonly userns?: number;
}

export type Placement =
  | {readonly kind: 'inside'; readonly ns: NamespaceFds}
  /** Mounted at `dir` on the host; bound into `ns` (once there is one). */
  | {readonly kind: 'outside'; readonly dir: string; ns?: NamespaceFds};

export type MountState = 'starting' | 'ready' | 'failed' | 'stopped';

export class SessionMount {
  state: MountState = 'starting';
  private child: ChildProcess | undefined;
  private readyAt = 0;
  private quickDeaths = 0;
  private waiters: (() => void)[] = [];
  private startTimedOut = false;

  /** `notice` gets one-line messages for the user (restarts, failures). */
  constructor(readonly placement: Placement, readonly logFile: string, private readonly notice: (line: string) => void) {}

  /** Resolves once the mount is ready, has failed, or was stopped (or after `timeoutMs`: true
   *  then, and the caller goes on without it). */
  whenSettled(timeoutMs = Infinity): Promise<boolean> {
    if (this.state !== 'starting') return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => resolve(true), timeoutMs) : undefined;
      this.waiters.push(() => {
        if (timer) clearTimeout(timer);
        resolve(false);
      });
    });
  }

  private settle(state: MountState): void {
    this.state = state;
    if (state === 'starting') return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** `enter` arguments for the namespace, whose descriptors are at 4 (and 5). */
  private static enterArgs(ns: NamespaceFds): string[] {
    return ['enter', '--mntns-fd', '4', ...(ns.userns !== undefined ? ['--userns-fd', '5'] : [])];
  }

  private static stdio(log: number, first: 'pipe' | 'ignore', ns?: NamespaceFds): StdioOptions {
    return [first, 'ignore', log, 'pipe', ...(ns ? [ns.mntns, ...(ns.userns !== undefined ? [ns.userns] : [])] : [])];
  }

  /** The log's fd, opened as every mount log is (src/fuse/log.ts: never through a link, only a
   *  file of ours); where it cannot be written (no home, a read-only one), said once, and the
   *  mount's messages go nowhere: the mount itself does not depend on them. */
  private openLog(): number {
    try {
      fs.mkdirSync(path.dirname(this.logFile), {recursive: true, mode: 0o700});
      return openLogFile(this.logFile).fd;
    } catch (error) {
      if (!this.logRefused) this.notice(`dbox: cannot write the mount's log: ${describeFsError(quotef(this.logFile), (error as {code?: string}).code ?? 'EIO')}; set XDG_STATE_HOME to keep it`);
      this.logRefused = true;
      return fs.openSync('/dev/null', 'w');
    }
  }
  private logRefused = false;

  /** "log: PATH" for a message, where the log could be written; else nothing. */
  private get logNote(): string {
    return this.logRefused ? '' : `log: ${this.logFile}`;
  }

  /** Whether start() was called (a mount may be created before it is started). */
  started = false;

  start(): void {
    this.started = true;
    this.settle('starting');
    const log = this.openLog();
    const p = this.placement;
    const serve = [process.execPath, dboxLauncher, 'mount', p.kind === 'inside' ? MOUNT_POINT : p.dir, '--foreground', '--parent-pipe', '--ready-fd', '3'];
    // Through the namespace helper either way: its own session (setsid), and SIGTERM when dbox
    // dies (a mount that is still starting does not watch its pipe from dbox yet).
    const child = p.kind === 'inside'
      ? spawn(namespaceHelper, [...SessionMount.enterArgs(p.ns), '--detach', HOSTS_POINT, '--detach', IMAGES_POINT, '--detach', VOLUMES_POINT, '--detach', MOUNT_POINT, '--setsid', '--die-with-parent', '--', ...serve],
        {stdio: SessionMount.stdio(log, 'pipe', p.ns)})
      : spawn(namespaceHelper, ['enter', '--setsid', '--die-with-parent', '--', ...serve], {stdio: SessionMount.stdio(log, 'pipe')});
    fs.closeSync(log);
    this.child = child;
    child.stdin?.on('error', () => undefined);
    // Once it is up, the mount must not keep dbox alive (until then, dbox waits for it).
    const letGo = (): void => {
      child.unref();
      (child.stdin as unknown as {unref?: () => void} | null)?.unref?.();
    };
    let mounted = false;
    // A mount that does not come up in time (an engine call that never answers) is given up.
    const deadline = setTimeout(() => {
      if (this.child !== child || mounted) return;
      this.startTimedOut = true;
      child.kill(constants.signals.SIGKILL);
    }, START_DEADLINE_MS);
    deadline.unref();
    // Ready means its line "ready" (written once the mount is there); "error WHY", or an exit
    // before a line, is a start that failed, and WHY is what the notice says.
    readyOf(child, 3).then(() => {
      mounted = true;
      clearTimeout(deadline);
      const restart = p.kind === 'outside' && p.ns !== undefined;
      void this.bind().then((bound) => {
        if (this.child !== child) return;
        if (!bound && restart) this.notice(`dbox: the mount of ${MOUNT_POINT} started again, but this system does not pass it into the session; other commands reach ${MOUNT_POINT} again in a new dbox`);
        this.readyAt = Date.now();
        letGo();
        this.settle('ready');
      });
    }, (error: unknown) => {
      if (this.child !== child) return;
      clearTimeout(deadline);
      const how = this.startTimedOut ? `not ready within ${START_DEADLINE_MS / 1000} s` : (error as Error).message;
      // Its own reason when it said one; else the last thing it logged (a crash, dbox-ns failing).
      const told = error instanceof StartFailed && error.told;
      // Once it has exited (it may still be unmounting what it made), never beside a new one.
      const gone = (): void => {
        if (this.child === child) this.ended(how, this.startTimedOut || told ? how : this.lastLogLine() || how);
      };
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) gone();
      else child.once('exit', gone);
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child || !mounted) return; // before its ready line: readyOf reports it
      this.ended(signal ? `killed by ${signal}` : `exit status ${code}`);
    });
  }

  /** The mount process `child` ended or failed to start (`how`; `why` for a first start): said in
   *  one line, and started again unless it never started or keeps stopping. */
  private ended(how: string, why = how): void {
    this.child = undefined;
    this.startTimedOut = false;
    if (this.state === 'stopped') return;
    if (this.readyAt === 0) {
      this.notice(`dbox: other commands cannot reach ${MOUNT_POINT}: the mount did not start (${why}${this.logNote && `; ${this.logNote}`})`);
      this.settle('failed');
      return;
    }
    const quick = this.state === 'starting' || Date.now() - this.readyAt < QUICK_DEATH_MS;
    this.quickDeaths = quick ? this.quickDeaths + 1 : 0;
    if (this.quickDeaths >= MAX_QUICK_DEATHS) {
      this.notice(`dbox: the mount of ${MOUNT_POINT} keeps stopping (${how}); not restarting it${this.logNote && ` (${this.logNote})`}`);
      this.settle('failed');
      return;
    }
    this.notice(`dbox: the mount of ${MOUNT_POINT} stopped (${how}); started it again${this.logNote && ` (${this.logNote})`}`);
    this.start();
  }

  /** Makes the mount appear in the namespace: /hosts inside; both mount points from outside. False
   *  when it cannot (the host did not propagate a new outside mount into the namespace). */
  private bind(): Promise<boolean> {
    const p = this.placement;
    if (!p.ns) return Promise.resolve(true); // outside, before the namespace: it binds them itself
    const args = p.kind === 'inside'
      ? ['--bind', `${MOUNT_POINT}/.hosts`, HOSTS_POINT, '--bind', `${MOUNT_POINT}/.images`, IMAGES_POINT, '--bind', `${MOUNT_POINT}/.volumes`, VOLUMES_POINT]
      : ['--require-fuse', p.dir, '--detach', HOSTS_POINT, '--detach', IMAGES_POINT, '--detach', VOLUMES_POINT, '--detach', MOUNT_POINT,
        '--bind', p.dir, MOUNT_POINT, '--bind', `${p.dir}/.hosts`, HOSTS_POINT, '--bind', `${p.dir}/.images`, IMAGES_POINT,
        '--bind', `${p.dir}/.volumes`, VOLUMES_POINT];
    const log = this.openLog();
    const child = spawn(namespaceHelper, [...SessionMount.enterArgs(p.ns), ...args], {stdio: SessionMount.stdio(log, 'ignore', p.ns)});
    fs.closeSync(log);
    return new Promise((resolve) => {
      child.on('exit', (code) => resolve(code === 0));
      child.on('error', () => resolve(false));
    });
  }

  /** The namespace exists now (an outside mount is bound into it on its restarts). */
  attach(ns: NamespaceFds): void {
    if (this.placement.kind === 'outside') this.placement.ns = ns;
  }

  private lastLogLine(): string {
    try {
      const lines = fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').filter((l) => l !== '' && !/^\s/.test(l));
      return lines.pop()?.replace(/^\S+ [\w-]+\[\d+\]: /, '').replace(/^dbox(-ns)?: (mount: )?/, '') ?? '';
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
