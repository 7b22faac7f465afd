// Starting the interactive session's bash, kept apart from the line editor (Ink, React) so that
// bash's startup files run while those load.
import {native} from '../native.js';
import {historyPath} from '../shell/history-file.js';
import {mountLogPath} from '../shell/session-mount.js';
import {ShellSession} from '../shell/shell-session.js';
import type {Namespace} from '../vfs/namespace.js';

/** Lines for the user that arrive while no prompt shows them (the mount restarted): above the next prompt. */
export const notices: string[] = [];

export function openInteractive(ns: Namespace, env: NodeJS.ProcessEnv): Promise<ShellSession> {
  native().ignoreTerminalStops();
  return ShellSession.open({
    mode: {kind: 'interactive', historyFile: historyPath(env)}, ns, env, cwd: process.cwd(), mount: 'start', mountLog: mountLogPath(env),
    notice: (line) => notices.push(line),
  });
}
