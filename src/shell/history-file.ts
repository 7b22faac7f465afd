// Command history on disk: $XDG_STATE_HOME/dbox/history (default ~/.local/state/dbox/history),
// one line per entry, bounded, written atomically with mode 0600.
import fs from 'node:fs';
import path from 'node:path';

export const HISTORY_MAX = 1000;

export function historyPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env['XDG_STATE_HOME'] || path.join(env['HOME'] || '/root', '.local', 'state');
  return path.join(state, 'dbox', 'history');
}

export function loadHistory(file: string, max = HISTORY_MAX): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').slice(-max);
  } catch {
    return [];
  }
}

export function saveHistory(file: string, lines: readonly string[], max = HISTORY_MAX): void {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, lines.slice(-max).map((l) => l + '\n').join(''), {mode: 0o600});
  fs.renameSync(tmp, file);
}
