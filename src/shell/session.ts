// A shell session: the working directory, $? and the environment, and the runner that executes
// a parsed line: builtins in-process (their effects applied here), other commands in the real shell.
import type {Readable} from 'node:stream';
import {builtinNamed} from '../../builtins/index.js';
import {escapeControls, escapeControlsLines} from '../format/quote.js';
import {DboxError, EngineUnreachable, UsageError} from '../vfs/errors.js';
import type {Namespace} from '../vfs/namespace.js';
import {locate} from '../vfs/path.js';
import type {Effect, Output, Result, ShellContext} from './context.js';
import {runExternal} from './external.js';
import {expandGlob} from './glob.js';
import {commandText, parseLine, type Command} from './parse.js';
import {mentionsContainers, rewriteLine, toMountPath} from './rewrite.js';

export interface SessionIo {
  readonly stdin: Readable;
  readonly stdinFd?: number;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: NodeJS.ProcessEnv;
  /** The FUSE mount for external commands on container paths, mounted on first call. */
  readonly mountDir?: () => Promise<string>;
}

export interface LineOutcome {
  readonly status: number;
  /** Set when the line asked dbox to exit. */
  readonly exit?: number;
}

export class Session {
  cwd: string;
  oldPwd: string | undefined;
  lastStatus = 0;
  /** Aborts the running builtin (Ctrl-C / SIGINT). */
  private running: AbortController | undefined;
  /** An external command has the terminal: Ctrl-C is its, not dbox's. */
  private externalRunning = false;

  constructor(readonly ns: Namespace, readonly io: SessionIo, cwd: string) {
    this.cwd = cwd;
  }

  get home(): string {
    return this.io.env['HOME'] ?? '/';
  }

  /** Ctrl-C: stops the running builtin; leaves a running external command to its own SIGINT. */
  interrupt(): boolean {
    if (this.externalRunning) return true;
    if (!this.running) return false;
    this.running.abort();
    return true;
  }

  private context(signal: AbortSignal): ShellContext {
    const env = {...this.io.env, '?': String(this.lastStatus), PWD: this.cwd};
    return {
      cwd: this.cwd, oldPwd: this.oldPwd, home: this.home, env, ns: this.ns, stdin: this.io.stdin,
      ...(this.io.stdinFd !== undefined ? {stdinFd: this.io.stdinFd} : {}),
      stdout: this.io.stdout, stderr: this.io.stderr, signal,
      color: this.io.stdout.isTTY && this.io.env['NO_COLOR'] === undefined,
    };
  }

  async runLine(line: string): Promise<LineOutcome> {
    this.ns.refresh();
    const vars = (name: string): string | undefined =>
      name === '?' ? String(this.lastStatus) : name === 'PWD' ? this.cwd : this.io.env[name];
    const parsed = parseLine(line, vars);
    if (parsed.kind === 'empty') return {status: this.lastStatus};
    if (parsed.kind === 'shell') {
      this.lastStatus = await this.external(parsed.line);
      return {status: this.lastStatus};
    }
    for (const command of parsed.commands) {
      if (command.after === '&&' && this.lastStatus !== 0) continue;
      if (command.after === '||' && this.lastStatus === 0) continue;
      const result = await this.runCommand(command);
      this.lastStatus = result.status;
      if (result.effect?.kind === 'exit') return {status: result.status, exit: result.effect.code};
      if (result.effect) this.apply(result.effect);
    }
    return {status: this.lastStatus};
  }

  /** Runs one command from an argv as given (`dbox attach c -- cmd`: no parsing, no globs). */
  async runArgv(argv: readonly string[]): Promise<LineOutcome> {
    this.ns.refresh();
    const result = await this.runCommand({words: argv.map((text) => ({text, glob: false}))});
    this.lastStatus = result.status;
    return {status: result.status, ...(result.effect?.kind === 'exit' ? {exit: result.effect.code} : {})};
  }

  private apply(effect: Effect): void {
    switch (effect.kind) {
      case 'chdir':
        this.oldPwd = this.cwd;
        this.cwd = effect.path;
        return;
      case 'exit':
        return;
    }
  }

  private async runCommand(command: Command): Promise<Result> {
    const controller = new AbortController();
    this.running = controller;
    const ctx = this.context(controller.signal);
    try {
      const argv: string[] = [];
      for (const word of command.words) {
        if (word.glob) argv.push(...(await expandGlob(word.text, this.ns, ctx)));
        else argv.push(word.text);
      }
      const [name, ...args] = argv;
      const builtin = builtinNamed(name!);
      if (!builtin) return {status: await this.external(commandText(command.words))};
      return await builtin.run(args, ctx);
    } catch (error) {
      return {status: this.reportError(error)};
    } finally {
      this.running = undefined;
    }
  }

  /** Messages may carry names from containers: nothing in them reaches the terminal raw. */
  private reportError(error: unknown): number {
    const err = this.io.stderr.stream;
    if (error instanceof UsageError) {
      err.write(escapeControlsLines(error.message) + '\n');
      return 2;
    }
    if (error instanceof EngineUnreachable) {
      err.write(`dbox: ${escapeControlsLines(error.message)}\n`);
      return 1;
    }
    if (error instanceof DboxError) {
      err.write(`dbox: ${escapeControlsLines(error.message)}\n`);
      return 1;
    }
    err.write(`dbox: internal error (please report): ${escapeControlsLines((error as Error)?.stack ?? String(error))}\n`);
    return 70;
  }

  /**
   * Runs a command in the real shell. Container paths in it, and a working directory inside a
   * container, are rewritten onto the FUSE mount, which is started on first need.
   */
  private async external(text: string): Promise<number> {
    const loc = locate(this.cwd);
    let cwd = loc.kind === 'host' ? loc.path : undefined;
    let line = text;
    if (cwd === undefined || mentionsContainers(text)) {
      const name = text.trim().split(/\s+/)[0];
      if (!this.io.mountDir) {
        this.io.stderr.stream.write(`dbox: ${name}: container paths need the FUSE mount, which this dbox has not\n`);
        return 1;
      }
      let mnt: string;
      try {
        mnt = await this.io.mountDir();
      } catch (error) {
        this.io.stderr.stream.write(
          `dbox: ${escapeControls(name ?? '')}: other commands reach container paths through a FUSE mount, which failed: ${escapeControlsLines((error as Error).message)}\n`,
        );
        return 1;
      }
      line = rewriteLine(text, mnt);
      cwd ??= toMountPath(this.cwd, mnt);
      if (cwd === undefined) {
        this.io.stderr.stream.write(`dbox: ${escapeControls(name ?? '')}: ${escapeControls(this.cwd)} is not on the mount\n`);
        return 1;
      }
    }
    this.externalRunning = true;
    try {
      return await runExternal({text: line, cwd, env: {...this.io.env, PWD: cwd}, shell: this.io.env['SHELL'] || 'bash'});
    } finally {
      this.externalRunning = false;
    }
  }
}
