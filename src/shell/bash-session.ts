// The session's bash: one bash per dbox session runs every line, so the language, and all of the
// shell's state (variables, exports, cd, $?, aliases, functions, options, traps, jobs), are bash's
// own. It runs in the session's private mount namespace (native/session-ns.c), where the
// containers are real paths: /containers and /hosts.
//
// Modes, as bash's: interactive (fed line by line by dbox's editor, with job control: see
// line-driver.ts), `-c LINE [ARG0 ARGS…]`, a script FILE [ARGS…], and commands read from stdin.
// dbox's builtins are functions of this bash that call dbox (session.bash, builtin-server.ts).
import {spawn, type ChildProcess, type StdioOptions} from 'node:child_process';
import fs from 'node:fs';
import {constants} from 'node:os';
import path from 'node:path';
import type {Readable, Writable} from 'node:stream';
import {builtinClient, namespaceHelper, sessionInit} from '../self.js';

export type SessionMode =
  | {readonly kind: 'interactive'; readonly historyFile: string}
  | {readonly kind: 'command'; readonly line: string; readonly args: readonly string[]}
  | {readonly kind: 'script'; readonly file: string; readonly args: readonly string[]}
  | {readonly kind: 'stdin'; readonly args: readonly string[]};

/** The user's $SHELL when it is a bash, else the system's bash. */
export function bashPath(env: NodeJS.ProcessEnv): string {
  const shell = env['SHELL'];
  if (shell && path.basename(shell) === 'bash' && isExecutable(shell)) return shell;
  for (const dir of ['/bin', '/usr/bin', '/usr/local/bin', ...(env['PATH'] ?? '').split(':')]) {
    const candidate = path.join(dir || '.', 'bash');
    if (isExecutable(candidate)) return candidate;
  }
  return '/bin/bash';
}

const isExecutable = (p: string): boolean => {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

/** bash's arguments for a mode (argv[0] is "dbox": bash's messages say `dbox: …`). --norc when
 *  not interactive: bash would otherwise take a socket on stdin (a caller spawned by Node, say)
 *  for rshd, read ~/.bashrc instead of BASH_ENV, and never define the builtins. */
export function bashArgs(mode: SessionMode): string[] {
  switch (mode.kind) {
    case 'interactive': return ['--noediting', '--rcfile', sessionInit, '-i'];
    case 'command': return ['--norc', '-c', mode.line, ...mode.args];
    case 'script': return ['--norc', mode.file, ...mode.args];
    case 'stdin': return ['--norc', ...(mode.args.length > 0 ? ['-s', ...mode.args] : [])];
  }
}

/** The namespace's descriptors, for joining it later (the mount); or why there is none. */
export type SessionNamespace =
  | {readonly kind: 'private'; readonly mntns: number; readonly userns?: number}
  | {readonly kind: 'none'; readonly reason: string};

export interface SessionOptions {
  readonly mode: SessionMode;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The session's private directory (its socket and client link are in it). */
  readonly dir: string;
  readonly builtins: readonly string[];
  /** A mount made on the host (users other than root) for the namespace to bind on /containers. */
  readonly containers?: string;
  /** Runs before bash starts, once the namespace exists (to start the mount, and wait for it when
   *  the first command needs it). */
  readonly beforeStart?: (ns: SessionNamespace) => Promise<void>;
}

export class BashSession {
  /** bash's stdin: the interactive session's command stream (line-driver.ts). */
  commands: Writable | undefined;
  namespace: SessionNamespace = {kind: 'none', reason: 'not started'};
  private child: ChildProcess | undefined;
  /** bash's exit status (128+N when signal N ended it). */
  readonly exited: Promise<number>;
  /** The signal that ended bash, if one did. */
  exitSignal: NodeJS.Signals | undefined;
  private settle!: (status: number) => void;

  constructor(private readonly options: SessionOptions) {
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  /** bash's pid (its process group once it runs with job control). */
  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** The session's client link: what the builtin functions call. */
  get client(): string {
    return path.join(this.options.dir, 'dbox');
  }

  /** Starts bash in a new namespace (or in dbox's own, when none can be made); resolves once bash runs. */
  async start(): Promise<void> {
    const o = this.options;
    fs.symlinkSync(builtinClient, this.client);
    const interactive = o.mode.kind === 'interactive';
    const env: NodeJS.ProcessEnv = {
      ...o.env,
      DBOX_CLIENT: this.client,
      DBOX_BUILTINS: o.builtins.join(' '),
      ...(o.env['BASH_ENV'] ? {DBOX_USER_BASH_ENV: o.env['BASH_ENV']} : {}),
      ...(interactive ? {DBOX_INTERACTIVE: '1', DBOX_HISTORY: (o.mode as {historyFile: string}).historyFile,
        DBOX_LINE_FILE: path.join(o.dir, 'line')} : {BASH_ENV: sessionInit}),
    };
    if (interactive) fs.writeFileSync(path.join(o.dir, 'line'), '', {mode: 0o600});
    const bash = bashPath(o.env);
    const args = bashArgs(o.mode);
    const stdin = interactive ? 'pipe' : 'inherit';

    const launcher = spawn(namespaceHelper, ['run', '--ready-fd', '3', '--go-fd', '4', '--cwd', o.cwd,
      ...(o.containers ? ['--containers', o.containers] : []), '--', bash, 'dbox', ...args],
      {env, stdio: [stdin, 'inherit', 'inherit', 'pipe', 'pipe'] as StdioOptions});
    const answer = await firstLine(launcher.stdio[3] as Readable, launcher);
    if (answer === 'R') {
      const pid = launcher.pid!;
      const mntns = fs.openSync(`/proc/${pid}/ns/mnt`, 'r');
      const userns = process.getuid?.() !== 0 ? fs.openSync(`/proc/${pid}/ns/user`, 'r') : undefined;
      this.namespace = {kind: 'private', mntns, ...(userns !== undefined ? {userns} : {})};
      try {
        await o.beforeStart?.(this.namespace);
      } catch (error) {
        launcher.kill('SIGKILL'); // never told to go: bash is not started
        throw error;
      }
      (launcher.stdio[4] as Writable).end('g');
      this.adopt(launcher);
      return;
    }
    // No namespace here: bash runs in dbox's own (the builtins still reach every container).
    launcher.kill('SIGKILL');
    this.namespace = {kind: 'none', reason: answer.startsWith('N ') ? answer.slice(2) : 'the namespace helper failed'};
    await o.beforeStart?.(this.namespace);
    this.adopt(spawn(bash, args, {argv0: 'dbox', env, cwd: o.cwd, stdio: [stdin, 'inherit', 'inherit']}));
  }

  private adopt(child: ChildProcess): void {
    this.child = child;
    this.commands = child.stdin ?? undefined;
    this.commands?.on('error', () => undefined);
    child.on('error', (error) => {
      process.stderr.write(`dbox: cannot run bash: ${error.message}\n`);
      this.settle(127);
    });
    child.on('exit', (code, signal) => {
      this.exitSignal = signal ?? undefined;
      this.settle(code ?? 128 + signalNumber(signal));
    });
  }

  /** Passes a signal dbox got on to bash (SIGTERM, SIGHUP); SIGINT as a terminal sends it: to
   *  bash and to the processes of its line in its process group (the foreground job: bash then
   *  ends the line, as it does when its child dies of SIGINT), never to dbox, which shares that
   *  group. Background jobs of a non-interactive bash ignore SIGINT, as they do at a terminal. */
  signal(signal: NodeJS.Signals): void {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    if (signal === 'SIGINT') {
      const group = processGroupOf(child.pid);
      for (const pid of descendants(child.pid)) {
        if (group !== undefined && processGroupOf(pid) === group) {
          try {
            process.kill(pid, signal);
          } catch { /* gone meanwhile */ }
        }
      }
    }
    child.kill(signal);
  }

  /** Ends bash (dbox is exiting): its command stream closes; SIGHUP as a closing terminal would. */
  stop(): void {
    this.commands?.end();
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGHUP');
  }

  /** The namespace's descriptors are dbox's to close at the end. */
  releaseNamespace(): void {
    if (this.namespace.kind !== 'private') return;
    fs.closeSync(this.namespace.mntns);
    if (this.namespace.userns !== undefined) fs.closeSync(this.namespace.userns);
    this.namespace = {kind: 'none', reason: 'ended'};
  }
}

const signalNumber = (signal: NodeJS.Signals | null): number => (signal ? constants.signals[signal] : 0);

/** ppid and process group of `pid` from /proc/<pid>/stat (after the command's closing parenthesis). */
function statOf(pid: number | string): {ppid: number; pgrp: number} | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {ppid: Number(ppid), pgrp: Number(pgrp)};
  } catch {
    return undefined;
  }
}

const processGroupOf = (pid: number): number | undefined => statOf(pid)?.pgrp;

/** Every process below `root` now (children first found, then theirs). */
function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = statOf(name);
    if (st) parents.set(st.ppid, [...(parents.get(st.ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  for (let i = -1, at = root; i < out.length; at = out[++i]!) out.push(...(parents.get(at) ?? []));
  return out;
}

/** The launcher's first line on `stream` ("R", or "N reason"); what it wrote when it ended without one. */
function firstLine(stream: Readable, child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const done = (value: string): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      resolve(value);
    };
    const onData = (d: Buffer): void => {
      text += d.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) done(text.slice(0, nl));
    };
    stream.on('data', onData);
    stream.on('close', () => done(text.trim()));
    stream.on('error', () => done(text.trim()));
    child.on('error', () => done(''));
  });
}
