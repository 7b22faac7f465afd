// The interactive shell on a terminal: dbox's line editor (readLine, components/read-line.tsx)
// while the prompt is up, the session's bash (src/shell/line-driver.ts) for every line.
//
// The terminal changes hands as in a job-control shell. While the prompt is up dbox owns it (its
// process group in the foreground, raw mode). When a line is submitted, readLine leaves its last
// frame (the prompt and the line) on the screen, turns bracketed paste off and unmounts Ink; raw
// mode is left (the terminal settings bash had are back), dbox stops reading stdin altogether (no
// read may stay pending: a key typed into vim must reach vim), and the line goes to bash, which
// gives the terminal to its jobs. When the line ends, bash says so, dbox takes the terminal back
// and asks readLine for the next line (which marks output that did not end with a newline, as
// zsh's PROMPT_SP does, and draws the prompt again).
//
// Keys the editor read after the key that ended a line (typed ahead, or the following lines of a
// paste on a terminal without bracketed paste) come back in Done's `typeahead` and are handed to
// the next prompt (a continuation prompt "> " too), so several lines typed or pasted at once run
// one after the other, in order. History follows bash's HISTSIZE, HISTFILESIZE and HISTCONTROL
// from the environment (src/shell/history-file.ts's historyPolicy).
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {readLine} from '../../components/read-line.js';
import type {Done} from '../../components/Shell.js';
import type {ContainerInfo} from '../docker/engine.js';
import {bashPath} from '../shell/bash-session.js';
import {complete} from '../shell/complete.js';
import {namespaceSource} from '../shell/completion-source.js';
import {afterSubmit, emptyEditor, type EditorState} from '../shell/editor.js';
import {historyPath, historyPolicy, loadHistory, saveHistory} from '../shell/history-file.js';
import {quoteaf} from '../format/quote.js';
import {LineDriver, shellQuote, type LineResult} from '../shell/line-driver.js';
import {promptText} from '../shell/prompt.js';
import {namesContainers, type ShellSession} from '../shell/shell-session.js';
import {noticeListeners, notices} from './interactive-session.js';
import {CONTAINERS, locate} from '../vfs/path.js';
import type {Namespace} from '../vfs/namespace.js';

/** Stops every read of the terminal: listeners off, and libuv's read stopped (a paused stream
 *  may still hold one, which would take the next key typed into a job). */
function stopReading(): void {
  const stdin = process.stdin as NodeJS.ReadStream & {_handle?: {reading?: boolean; readStop?: () => number}; _readableState?: {reading: boolean}};
  stdin.removeAllListeners('readable');
  stdin.removeAllListeners('data');
  stdin.pause();
  if (stdin._handle?.readStop) {
    stdin._handle.readStop();
    stdin._handle.reading = false;
    // The stream would otherwise wait for the answer to a read that is no longer asked, and never ask again.
    if (stdin._readableState) stdin._readableState.reading = false;
  }
}

/** Whether bash would wait for more of this line (an open quote, `do` without `done`, a here-document…). */
function needsMore(text: string, bash: string): boolean {
  if (!/['"`\\({[]|<<|\b(if|for|while|until|case|select|function|do|then)\b|(\|\||&&|\|)\s*$/.test(text)) return false;
  const r = spawnSync(bash, ['--norc', '--noprofile', '-n', '-c', text], {encoding: 'utf8', timeout: 5000});
  return /unexpected end of file|unexpected EOF while looking for matching|delimited by end-of-file/.test(r.stderr ?? '');
}

export async function interactive(ns: Namespace, env: NodeJS.ProcessEnv, opening: Promise<ShellSession>, builtins: readonly string[]): Promise<number> {
  const out = process.stdout;
  const color = out.isTTY === true && env['NO_COLOR'] === undefined;
  const historyFile = historyPath(env);
  const policy = historyPolicy(env);
  let editor: EditorState = emptyEditor(loadHistory(historyFile, policy));
  const source = namespaceSource(ns, env, builtins);
  const home = env['HOME'] ?? '/';
  const addNotice = (line: string): void => {
    notices.push(line);
    for (const l of noticeListeners) l();
  };
  // Live container state (the prompt's colour and completion follow the engine's events), asked
  // for while bash starts.
  const containersP = ns.containers().catch(() => []);
  const liveP = ns.live().catch(() => () => undefined);
  const session = await opening;
  // The terminal closed (SIGHUP) or dbox was told to end: bash gets the same, the mount goes.
  for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
    process.on(signal, () => {
      session.bash.signal('SIGHUP');
      void session.close().finally(() => process.exit(128 + (signal === 'SIGHUP' ? 1 : 15)));
    });
  }
  const driver = new LineDriver(session.bash, session.server, 0, path.join(session.dir, 'line'));
  let state: LineResult = await driver.ready();
  session.startMount();
  let containers: readonly ContainerInfo[] = await containersP;
  const stopLive = await liveP;
  const listeners = new Set<() => void>();
  const notify = (): void => listeners.forEach((l) => l());
  noticeListeners.add(notify);
  /** A change of directory owed to bash, run before the next line (the container we were in went away or was renamed). */
  let fixup: string | undefined;
  ns.onChange((id, action) => {
    void ns.containers().then((list) => {
      const here = locate(fixup ?? state.cwd);
      const was = here.kind === 'container' && here.endpoint === undefined ? containers.find((c) => c.name === here.name) : undefined;
      if (here.kind === 'container' && was && was.id === id && !list.some((c) => c.name === here.name)) {
        const renamed = action === 'rename' ? list.find((c) => c.id === id) : undefined;
        const to = renamed ? `${CONTAINERS}/${renamed.name}${here.path === '/' ? '' : here.path}` : CONTAINERS;
        addNotice(renamed ? `dbox: container ${quoteaf(here.name)} was renamed to ${quoteaf(renamed.name)}; now in ${quoteaf(to)}`
          : `dbox: container ${quoteaf(here.name)} was removed; now in ${CONTAINERS}`);
        fixup = to;
      }
      containers = list;
      notify();
    }, () => undefined);
  });
  const subscribe = (listener: () => void): (() => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };

  const cwd = (): string => fixup ?? state.cwd;
  const prompt = (continuation: boolean) => (): string => {
    if (continuation) return '> ';
    const here = locate(cwd());
    const cstate = here.kind === 'container' ? containers.find((c) => c.name === here.name)?.state : undefined;
    const text = promptText({cwd: cwd(), home, status: state.status, color, ...(cstate ? {containerState: cstate} : {})});
    return notices.map((l) => l + '\n').join('') + text;
  };
  const completeAt = (line: string, cursor: number) => complete(line, cursor, {cwd: cwd(), home}, source);
  const bash = bashPath(env);

  /** Keys read after the end of the last line, for the next prompt. */
  let typeahead: string | undefined;
  /** Whether output may have been written since the last prompt (readLine then marks output without a final newline). */
  let ran = false;
  const ask = async (initial: EditorState, continuation: boolean): Promise<Done> => {
    const done = await readLine({
      initial, prompt: prompt(continuation), complete: completeAt, subscribe, color, eolMark: ran,
      ...(typeahead ? {typeahead} : {}),
    });
    stopReading();
    typeahead = done.typeahead;
    ran = false;
    return done;
  };

  const run = async (text: string, record: string): Promise<LineResult> => {
    driver.handOver();
    if (fixup !== undefined) {
      const r = await driver.run(`builtin cd -- ${shellQuote(fixup)} 2>/dev/null; (exit ${state.status})`, '');
      fixup = undefined;
      if (r.exited !== undefined) return r;
    }
    // Only a line that names a container path waits for a mount still starting (the first half
    // second of a session, or a restart); nothing is rewritten.
    if ((namesContainers(text) || namesContainers(cwd())) && await session.mount?.whenSettled(10_000)) {
      out.write(`dbox: the mount of /containers is still starting (log: ${session.mount?.logFile}); running the line without waiting\n`);
    }
    return driver.run(text, record);
  };

  try {
    if (state.exited !== undefined) return state.exited;
    // The editor takes the place of the instant prompt (and of what the terminal echoed after it).
    out.write('\r\x1b[K');
    for (;;) {
      let done = await ask(editor, false);
      notices.length = 0;
      let result: LineResult;
      if (done.kind === 'eof') {
        result = await run('exit', '');
      } else if (done.kind !== 'submit') {
        editor = emptyEditor(done.editor.history);
        result = await run('(exit 130)', '');
      } else {
        let text = done.editor.text;
        // A line bash would read on from (an open quote, a loop, a here-document): the next ones, after "> ".
        while (done.kind === 'submit' && needsMore(text, bash)) {
          done = await ask(emptyEditor(done.editor.history), true);
          if (done.kind === 'submit') text += '\n' + done.editor.text;
        }
        if (done.kind !== 'submit') {
          editor = emptyEditor(done.editor.history);
          result = await run('(exit 130)', '');
        } else {
          editor = afterSubmit({...done.editor, text}, policy);
          if (text.trim() !== '') saveHistory(historyFile, editor.history, policy);
          result = text.trim() === '' ? await run(`(exit ${state.status})`, '') : await run(text, text);
        }
      }
      if (result.exited !== undefined) return result.exited;
      state = result;
      ran = true;
    }
  } finally {
    stopLive();
    await session.close();
  }
}
