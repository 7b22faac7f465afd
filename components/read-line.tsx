// One prompt on the terminal, from the moment the controller has the terminal back until the line
// is entered: what src/ui/interactive.tsx calls for each line.
//
// In order: the marker for output that did not end with a newline (zsh's PROMPT_SP), bracketed
// paste on, the Shell component (Ink, raw mode) drawing through a TerminalScreen; when the line is
// done its last frame stays on the screen with the cursor on the line below, bracketed paste is
// off again (a program run next must not get pastes wrapped in markers it does not expect) and
// Ink is unmounted before the promise resolves.
//
// Ink renders into a sink (its frames are what tests read); the terminal gets only what the
// TerminalScreen writes.
import {Writable} from 'node:stream';
import {render} from 'ink';
import Shell, {type Done, type ShellProps} from './Shell.js';
import {BRACKETED_PASTE_OFF, BRACKETED_PASTE_ON, promptEolMark, TerminalScreen} from '../src/shell/terminal-screen.js';

export interface ReadLineOptions extends Omit<ShellProps, 'onDone' | 'screen'> {
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
  /** Mark output that did not end with a newline before the prompt (default: true). */
  readonly eolMark?: boolean;
}

/** A stream Ink renders into: it has the terminal's size and keeps nothing. */
function inkSink(terminal: NodeJS.WriteStream): NodeJS.WriteStream {
  const sink = new Writable({write: (_chunk, _enc, cb) => cb()}) as unknown as NodeJS.WriteStream;
  Object.defineProperty(sink, 'columns', {get: () => terminal.columns || 80});
  Object.defineProperty(sink, 'rows', {get: () => terminal.rows || 24});
  return sink;
}

export function readLine(options: ReadLineOptions): Promise<Done> {
  const {stdin = process.stdin, stdout = process.stdout, eolMark = true, ...props} = options;
  // Raw mode before anything is drawn: a key typed from now on is the editor's, never echoed by the
  // terminal driver into the middle of the prompt.
  if (stdin.isTTY) stdin.setRawMode(true);
  stdout.write((eolMark ? promptEolMark(stdout.columns || 80, props.color) : '') + BRACKETED_PASTE_ON);
  const screen = new TerminalScreen(stdout);
  return new Promise<Done>((resolve) => {
    const instance = render(
      <Shell {...props} screen={screen} onDone={(d) => {
        instance.unmount();
        stdout.write(BRACKETED_PASTE_OFF);
        resolve(d);
      }} />,
      {stdin, stdout: inkSink(stdout), debug: true, exitOnCtrlC: false, patchConsole: false},
    );
  });
}
