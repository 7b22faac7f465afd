// Running dbox as an attacker's victim would: a real process (the built bundle), with deadlines
// instead of sleeps, on a pipe or on a real terminal (script(1)), and the checks that nothing
// was left behind (mounts, temporaries, runtime files) after each case.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {detach, mountTable} from '../../../src/fuse/mounts.js';
import {dboxPath} from '../../integration/engine.js';

export interface Run {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** The deadline passed and the process was killed. */
  readonly timedOut: boolean;
  readonly out: string;
  readonly err: string;
}

/** A private world for the dbox processes of one test file: runtime dir (its mounts), TMPDIR. */
export interface World {
  readonly base: string;
  readonly runtime: string;
  readonly tmp: string;
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  mkdir(label: string): string;
  /** Mount points under base that the test itself made (a loop filesystem...): not leftovers. */
  readonly ownMounts: string[];
  cleanup(): void;
}

export function makeWorld(label: string): World {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `dbox-adv-${label}-`));
  fs.chmodSync(base, 0o755);
  // The runtime dir (where dbox mounts) is kept out of /tmp: a walk of /tmp by anyone on the machine
  // would otherwise go through these mounts.
  const runtime = fs.mkdtempSync(`/run/dbox-adv-${label}-`);
  fs.chmodSync(runtime, 0o700);
  const tmp = path.join(base, 'tmp');
  fs.mkdirSync(tmp, {mode: 0o1777});
  fs.chmodSync(tmp, 0o1777);
  return {
    base, runtime, tmp,
    env: (extra = {}) => ({...process.env, NO_COLOR: '1', XDG_RUNTIME_DIR: runtime, TMPDIR: tmp, ...extra}),
    mkdir: (l) => fs.mkdtempSync(path.join(base, `${l}-`)),
    ownMounts: [],
    cleanup() {
      unmountUnder(base);
      unmountUnder(runtime);
      // rm(1): the trees here can be 10,000 levels deep.
      spawnSync('rm', ['-rf', '--one-file-system', base, runtime], {stdio: 'ignore'});
    },
  };
}

/** Every mount point at or below `prefix`, in this mount namespace (dbox's own mountinfo parser). */
export function mountsUnder(prefix: string): string[] {
  return mountTable().map((m) => m.mountPoint).filter((p) => p === prefix || p.startsWith(prefix + '/'));
}

/** Detaches `mounts` (dbox's own way, src/fuse/mounts.ts), the deepest first. */
function detachAll(mounts: readonly string[]): void {
  for (const m of [...mounts].sort().reverse()) detach(m);
}

export function unmountUnder(prefix: string): void {
  detachAll(mountsUnder(prefix));
}

/**
 * Files (not directories) below `dir`, relative; a missing dir has none. Mount points are never
 * entered, not even stat'ed: a FUSE mount whose server hangs would hang this process with it
 * (mountsUnder reports them).
 */
export function filesUnder(dir: string): string[] {
  const mounts = new Set(mountsUnder(dir));
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(p);
    } catch {
      return;
    }
    for (const n of names) {
      if (mounts.has(path.join(p, n))) continue;
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(path.join(p, n), {throwIfNoEntry: false});
      } catch (error) {
        out.push(`${path.join(rel, n)} (${(error as {code?: string}).code})`);
        continue;
      }
      if (!st) continue;
      if (st.isDirectory()) walk(path.join(p, n), path.join(rel, n));
      else out.push(path.join(rel, n));
    }
  };
  if (!mounts.has(dir)) walk(dir, '');
  return out;
}

/** Temporaries of dbox's copies (`.name.dbox-…`) anywhere below `dir` (by lstat, never into a mount; iterative: trees may be 10,000 deep). */
export function temporariesUnder(dir: string, maxDepth = 64): string[] {
  const mounts = new Set(mountsUnder(dir));
  const out: string[] = [];
  const stack: [string, number][] = mounts.has(dir) ? [] : [[dir, 0]];
  while (stack.length > 0) {
    const [p, depth] = stack.pop()!;
    if (depth > maxDepth) continue;
    let names: string[];
    try {
      names = fs.readdirSync(p);
    } catch {
      continue;
    }
    for (const n of names) {
      const child = path.join(p, n);
      if (n.includes('.dbox-')) out.push(child);
      if (mounts.has(child)) continue;
      try {
        if (fs.lstatSync(child, {throwIfNoEntry: false})?.isDirectory()) stack.push([child, depth + 1]);
      } catch { /* a dead mount */ }
    }
  }
  return out;
}

/** What a world's dbox processes may not leave: mounts under it, files in its runtime dir and TMPDIR. */
/** The mount's log (its messages, never the terminal's): kept on purpose, like any log. */
const MOUNT_LOG = 'dbox/mount.log';

/** The agent's door: kept on purpose while the agent lives (for the next dbox process), gone with
 *  it after its idle time (that is asserted by test/integration/agent-*.test.ts). */
const AGENT_DOOR = /^dbox-agent\/agent-[0-9a-f]+\.sock$/;

export function leftovers(world: World): {mounts: string[]; runtimeFiles: string[]; tmpFiles: string[]} {
  return {mounts: [...mountsUnder(world.base), ...mountsUnder(world.runtime)].filter((m) => !world.ownMounts.includes(m)), runtimeFiles: filesUnder(world.runtime).filter((f) => f !== MOUNT_LOG && !AGENT_DOOR.test(f)), tmpFiles: filesUnder(world.tmp)};
}

export const clean = {mounts: [], runtimeFiles: [], tmpFiles: []};

/** Removes what a case left (after it was asserted), so that the next case starts clean. */
export function sweep(world: World): void {
  detachAll([...mountsUnder(world.base), ...mountsUnder(world.runtime)].filter((x) => !world.ownMounts.includes(x)));
  for (const d of [world.runtime, world.tmp]) {
    for (const n of fs.readdirSync(d)) {
      try {
        fs.rmSync(path.join(d, n), {recursive: true, force: true});
      } catch { /* still busy: the next sweep */ }
    }
  }
}

export interface Started {
  readonly child: ChildProcess;
  readonly stdout: Buffer[];
  readonly stderr: Buffer[];
  /** Resolves when the process has exited (or the deadline passed and it was killed). */
  readonly done: Promise<Run>;
}

/** Every process start() made that has not exited: killed when this test process exits, whatever happened. */
const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of alive) killTree(c.pid);
});

/** Starts dbox with `args`; the process is SIGKILLed (timedOut) if still alive after `deadlineMs`. */
export function start(args: readonly string[], options: {env?: NodeJS.ProcessEnv; cwd?: string; deadlineMs?: number; input?: string | null;
  command?: string} = {}): Started {
  const cmd = options.command ?? process.execPath;
  const argv = options.command ? [...args] : [dboxPath, ...args];
  const child = spawn(cmd, argv, {cwd: options.cwd ?? os.tmpdir(), env: options.env ?? {...process.env, NO_COLOR: '1'},
    stdio: [options.input === null ? 'ignore' : 'pipe', 'pipe', 'pipe']});
  if (options.input !== null) {
    // A process that exits without reading its input (sh -c 'tmux …') makes this write EPIPE: not an error of the case.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  }
  alive.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => stdout.push(d));
  child.stderr!.on('data', (d: Buffer) => stderr.push(d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child.pid);
  }, options.deadlineMs ?? 120_000);
  const done = new Promise<Run>((resolve) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      alive.delete(child);
      const out = Buffer.concat(stdout);
      const err = Buffer.concat(stderr);
      resolve({status, signal, stdout: out, stderr: err, timedOut, out: out.toString('utf8'), err: err.toString('utf8')});
    });
  });
  return {child, stdout, stderr, done};
}

/** `dbox -c LINE`, waited for with a deadline. */
export function dboxLine(line: string, env: NodeJS.ProcessEnv, options: {cwd?: string; deadlineMs?: number} = {}): Promise<Run> {
  return start(['-c', line], {env, ...options}).done;
}

/** `dbox ARGS…` (mount, attach), waited for with a deadline. */
export function dboxArgs(args: readonly string[], env: NodeJS.ProcessEnv, options: {cwd?: string; deadlineMs?: number} = {}): Promise<Run> {
  return start(args, {env, ...options}).done;
}

/** Kills a process we started and its descendants (by pid, children first). */
export function killTree(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  const kids = spawnSync('pgrep', ['-P', String(pid)], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean).map(Number);
  for (const k of kids) killTree(k, signal);
  try {
    process.kill(pid, signal);
  } catch { /* gone */ }
}

/** Polls `cond` until it holds or `ms` passed; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, stepMs = 25): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Whether process `pid` has exited (or is a zombie). */
export function gone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return / [ZX] /.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return true;
  }
}

/** Whether a thread of `pid` sleeps in the kernel in a function matching `re` (wchan), or holds an fd whose link matches. */
export function blockedOn(pid: number, wchan: RegExp, fdLink?: RegExp): boolean {
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const w = fs.readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8');
      if (wchan.test(w)) return true;
    }
    if (fdLink) {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (fdLink.test(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) return true;
        } catch { /* closed meanwhile */ }
      }
    }
  } catch { /* gone */ }
  return false;
}

/** Runs `dbox -c LINE` on a real terminal (script(1) gives it a pty); returns every byte the terminal got. */
export function onTerminal(line: string, env: NodeJS.ProcessEnv, deadlineMs = 60_000): Promise<Run> {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `${q(process.execPath)} ${q(dboxPath)} -c ${q(line)}`;
  return start(['-qfec', cmd, '/dev/null'], {command: 'script', env: {...env, TERM: 'xterm-256color', COLUMNS: '200'}, deadlineMs}).done;
}

/** Bytes a container chose that must never reach a terminal raw: OSC (title, clipboard), clear, conceal. */
export const ESCAPE_PAYLOADS = ['\x1b]0;', '\x1b]52;', '\x1b[2J', '\x1b[8m', '\x1b]2;'];

export const rawEscapes = (bytes: Buffer): string[] => ESCAPE_PAYLOADS.filter((p) => bytes.includes(Buffer.from(p, 'latin1')));

/** A line of `docker` that must work. */
export function docker(...args: string[]): string {
  const r = spawnSync('docker', args, {encoding: 'utf8'});
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The mount table of a running container's init process (as the host sees it). */
export function containerMountinfo(name: string, dockerArgs: string[] = []): string {
  const pid = docker(...dockerArgs, 'inspect', '-f', '{{.State.Pid}}', name);
  return fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
}

/** `sh -c CMD` without blocking this process's event loop (an adversary may be serving from it). */
export function sh(cmd: string, options: {env?: NodeJS.ProcessEnv; deadlineMs?: number} = {}): Promise<Run> {
  return start(['-c', cmd], {command: 'sh', env: options.env ?? process.env, deadlineMs: options.deadlineMs ?? 30_000}).done;
}

/**
 * Ends a tmux session running an interactive dbox of `world`: the hang-up ends dbox, and dbox's
 * background mount after it, asynchronously (kill-session does not wait), so this waits, with a
 * deadline, until that dbox has exited and no mount is left under the world's runtime directory.
 * Whatever is still there then is the case's leftover, which the case's checks report.
 */
export async function endSession(session: string, world: World, deadlineMs = 15_000): Promise<void> {
  const pane = await sh(`tmux display-message -p -t ${session} '#{pane_pid}'`);
  const pid = Number(pane.out.trim());
  await sh(`tmux kill-session -t ${session}`);
  await waitFor(() => (!(pid > 0) || gone(pid)) && mountsUnder(world.runtime).length === 0, deadlineMs, 50);
}
