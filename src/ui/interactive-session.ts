// Starting the interactive session's bash, kept apart from the line editor (Ink, React) so that
// bash's startup files run while those load.
import {native} from '../native.js';
import {historyPath} from '../shell/history-file.js';
import {promptText} from '../shell/prompt.js';
import {mountLogPath} from '../shell/session-mount.js';
import type {Registry} from '../shell/context.js';
import {ShellSession} from '../shell/shell-session.js';
import type {Namespace} from '../vfs/namespace.js';

/** Lines for the user (the mount restarted): shown above the prompt, at once if one is up. */
export const notices: string[] = [];
/** Called when a notice arrives (the prompt draws itself again). */
export const noticeListeners = new Set<() => void>();

/**
 * The prompt drawn at once, as plain text, while bash reads its startup files and the line
 * editor loads (zsh's "instant prompt"): keys typed meanwhile are echoed by the terminal and
 * kept in its input until the editor takes over (interactive.tsx clears this line first).
 */
export function instantPrompt(env: NodeJS.ProcessEnv): void {
  const color = process.stdout.isTTY === true && env['NO_COLOR'] === undefined;
  process.stdout.write(promptText({cwd: process.cwd(), home: env['HOME'] ?? '/', status: 0, color}));
}

export function openInteractive(ns: Namespace, env: NodeJS.ProcessEnv, builtins: Registry): Promise<ShellSession> {
  native().ignoreTerminalStops();
  // As an interactive shell: the terminal's SIGINT and SIGQUIT never end it (at the prompt they
  // are keys; between a line and the prompt they are ignored).
  process.on('SIGINT', () => undefined);
  process.on('SIGQUIT', () => undefined);
  return ShellSession.open({
    mode: {kind: 'interactive', historyFile: historyPath(env)}, ns, builtins, env, cwd: process.cwd(), mount: 'start', mountLog: mountLogPath(env),
    notice: (line) => {
      notices.push(line);
      for (const l of noticeListeners) l();
    },
  });
}
