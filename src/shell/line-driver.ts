// Feeding the interactive session's bash one line at a time, and the terminal between dbox and
// bash as a job-control shell hands it to its jobs.
//
// bash runs interactive (monitor mode, bash's own Ctrl-C, Ctrl-Z, fg, bg, jobs, notifications)
// with its command input on a pipe from dbox, on which dbox keeps one fixed command waiting:
//
//     eval -- "$(exec CLIENT --next "$?" "$PWD")" 0</dev/tty
//
// When bash reads it, the previous line has ended: the client tells dbox the status and working
// directory (a line request, builtin-server.ts), dbox takes the terminal back and shows its
// prompt, and answers with the next line once the user has entered it. The command substitution
// exits with the previous status, so the line runs with `$?` (and `$_`) unchanged, in the shell
// itself (not a function: `declare`, `return`, `exit` mean what they mean at a prompt), with the
// terminal as its stdin. bash's own stdin stays the pipe, so nothing a line starts can read it.
// A line with history characters is expanded by bash first (session.bash: __dbox_expand).
//
// Known differences from typing into bash: PIPESTATUS after a line is the line's own status (the
// line runs inside one `eval`); `set -x`/`set -v` also show the `eval`; a line is added to
// bash's history once it has run (so `history` does not list the line that runs it).
import fs from 'node:fs';
import {native} from '../native.js';
import type {BashSession} from './bash-session.js';
import type {BuiltinServer, LineRequest} from './builtin-server.js';

export interface LineResult {
  readonly status: number;
  /** bash's $PWD after the line. */
  readonly cwd: string;
  /** Set when bash ended (`exit`): its exit status. */
  readonly exited?: number;
}

/** A string as one bash word. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Whether bash would history-expand something in the line (its history characters `!` and `^`). */
export const mayExpandHistory = (line: string): boolean => line.includes('!') || line.startsWith('^');

export class LineDriver {
  private request: LineRequest | undefined;
  private waiting: ((r: LineRequest | undefined) => void) | undefined;
  private bashPgrp = -1;
  private readonly ownPgrp = native().getpgrp();
  private ended = false;
  private readonly trigger: string;

  constructor(private readonly session: BashSession, server: BuiltinServer, private readonly tty: number, private readonly lineFile: string) {
    this.trigger = `eval -- "$(exec ${shellQuote(session.client)} --next "$?" "$PWD")" 0</dev/tty\n`;
    server.onLineRequest = (r) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(r);
      } else {
        this.request = r;
      }
    };
    void session.exited.then(() => {
      this.ended = true;
      this.waiting?.(undefined);
    });
  }

  private nextRequest(): Promise<LineRequest | undefined> {
    if (this.request) {
      const r = this.request;
      this.request = undefined;
      return Promise.resolve(r);
    }
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private current: LineRequest | undefined;

  /** Waits for bash to finish starting (its startup files included), then takes the terminal. */
  async ready(): Promise<LineResult> {
    this.session.commands?.write(this.trigger);
    return this.settle(await this.nextRequest(), true);
  }

  /** Hands the terminal to bash at once (a Ctrl-C typed now is the line's, not dbox's). */
  handOver(): void {
    if (this.current) this.giveTerminal(this.bashPgrp);
  }

  /** Runs `text` as the next line (`record` is what goes into history: '' for none). */
  async run(text: string, record: string): Promise<LineResult> {
    const request = this.current;
    if (!request) return {status: 1, cwd: '/', exited: await this.session.exited};
    this.current = undefined;
    this.giveTerminal(this.bashPgrp);
    fs.writeFileSync(this.lineFile, record);
    request.reply(mayExpandHistory(text) && record !== '' ? `eval -- "$(__dbox_expand "$?" ${shellQuote(text)})"` : text);
    this.session.commands?.write(this.trigger);
    // The terminal closing while the line runs sends its SIGHUP to the line's job and to the
    // terminal's session leader, not to dbox, and dbox does not read it meanwhile: a line that
    // never ends (a loop) would keep dbox, bash and the mount alive. A hung-up terminal has no
    // foreground group any more: then dbox ends as on SIGHUP (interactive.tsx).
    const watching = this.terminalOwner() !== undefined;
    const watch = watching ? setInterval(() => {
      if (this.terminalOwner() !== undefined) return;
      clearInterval(watch);
      process.kill(process.pid, 'SIGHUP');
    }, 1000) : undefined;
    try {
      return this.settle(await this.nextRequest(), false);
    } finally {
      if (watch) clearInterval(watch);
    }
  }

  private async settle(request: LineRequest | undefined, first: boolean): Promise<LineResult> {
    if (!request) {
      this.takeTerminal();
      return {status: 0, cwd: '/', exited: await this.session.exited};
    }
    // bash took the terminal when it started (job control); after a line it has it back.
    if (first) this.bashPgrp = this.terminalOwner() ?? this.session.pid;
    this.current = request;
    this.takeTerminal();
    return {status: request.status, cwd: request.cwd};
  }

  private terminalOwner(): number | undefined {
    try {
      return native().tcgetpgrp(this.tty);
    } catch {
      return undefined;
    }
  }

  private giveTerminal(pgrp: number): void {
    try {
      native().tcsetpgrp(this.tty, pgrp);
    } catch { /* bash is gone: the line will say so */ }
  }

  /** The terminal back to dbox's process group (a job may have left it anywhere in the session). */
  takeTerminal(): void {
    if (this.terminalOwner() !== this.ownPgrp) this.giveTerminal(this.ownPgrp);
  }
}
