// A real terminal for end-to-end tests: dbox runs in a tmux pane, keys go in with send-keys,
// the screen comes back with capture-pane.
import {execFileSync, spawnSync} from 'node:child_process';

export class Terminal {
  constructor(readonly name: string) {}

  static start(name: string, command: string, size = {x: 120, y: 40}): Terminal {
    spawnSync('tmux', ['kill-session', '-t', name], {stdio: 'ignore'});
    execFileSync('tmux', ['new-session', '-d', '-s', name, '-x', String(size.x), '-y', String(size.y), command]);
    return new Terminal(name);
  }

  /** tmux key names (Tab, Enter, C-r, Up) or literal text. */
  keys(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, ...keys]);
  }

  text(text: string): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, '-l', text]);
  }

  screen(): string {
    return execFileSync('tmux', ['capture-pane', '-t', this.name, '-p', '-S', '-200'], {encoding: 'utf8'});
  }

  /** The cursor's cell on the visible screen. */
  cursor(): {x: number; y: number} {
    const [x, y] = execFileSync('tmux', ['display', '-p', '-t', this.name, '#{cursor_x},#{cursor_y}'], {encoding: 'utf8'}).trim().split(',').map(Number);
    return {x: x!, y: y!};
  }

  /** The visible screen only (no scrollback). */
  visible(): string {
    return execFileSync('tmux', ['capture-pane', '-t', this.name, '-p'], {encoding: 'utf8'});
  }

  resize(x: number, y?: number): void {
    execFileSync('tmux', ['resize-window', '-t', this.name, '-x', String(x), ...(y ? ['-y', String(y)] : [])]);
  }

  /** Pastes text as a terminal does: bracketed when the program asked for it (unless `bracketed`
   *  is false: a terminal without bracketed paste), newlines sent as Enter (\r). */
  paste(text: string, bracketed = true): void {
    const buffer = `${this.name}-paste`;
    execFileSync('tmux', ['set-buffer', '-b', buffer, '--', text]);
    execFileSync('tmux', ['paste-buffer', ...(bracketed ? ['-p'] : []), '-d', '-b', buffer, '-t', this.name]);
  }

  alive(): boolean {
    return spawnSync('tmux', ['has-session', '-t', this.name], {stdio: 'ignore'}).status === 0;
  }

  async waitFor(re: RegExp, timeoutMs = 30_000, read: () => string = () => this.screen()): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = read();
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`the screen never showed ${re}:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until the program in the pane reads keys one by one (raw mode: dbox's line editor has
   *  the terminal). dbox draws its prompt before that (an instant prompt): keys typed earlier go
   *  through the terminal's line discipline, where Ctrl-D on an empty line is lost. */
  async waitForEditor(timeoutMs = 30_000): Promise<void> {
    const tty = execFileSync('tmux', ['display', '-p', '-t', this.name, '#{pane_tty}'], {encoding: 'utf8'}).trim();
    const end = Date.now() + timeoutMs;
    while (!/(^|\s)-icanon(\s|$)/.test(execFileSync('stty', ['-a', '-F', tty], {encoding: 'utf8'}))) {
      if (Date.now() > end) throw new Error(`${tty} never went to raw mode`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The last non-empty line on the screen. */
  lastLine(): string {
    return this.screen().trimEnd().split('\n').at(-1) ?? '';
  }

  kill(): void {
    spawnSync('tmux', ['kill-session', '-t', this.name], {stdio: 'ignore'});
  }
}
