// The prompt as a person uses it, in-process: keys go into stdin, frames come out. Renders and keys
// go through React's act(), as Ink's own tests do, so no test waits on a clock. Where what reaches
// the terminal matters (wrapping, the cursor's cell, the list printed above a new prompt, a resize)
// the Shell draws through a TerminalScreen into xterm.js, a real terminal emulator.
import {act} from 'react';
import {render} from 'ink-testing-library';
import {describe, expect, it, vi} from 'vitest';
import CompletionList from '../../components/CompletionList.js';
import Shell, {type Done, type Screen} from '../../components/Shell.js';
import {emptyEditor, type EditorState} from '../../src/shell/editor.js';
import type {Candidate, Completion} from '../../src/shell/complete.js';
import {TerminalScreen} from '../../src/shell/terminal-screen.js';
import {Xterm} from './xterm.js';

(globalThis as {IS_REACT_ACT_ENVIRONMENT?: boolean}).IS_REACT_ACT_ENVIRONMENT = true;

const plain = (s: string | undefined) => (s ?? '').replace(/\x1b\[[0-9;]*m/g, '');

interface MountOptions {
  history?: string[];
  initial?: EditorState;
  complete?: (line: string, cursor: number) => Promise<Completion | undefined>;
  screen?: Screen;
  typeahead?: string;
  prompt?: string;
}

async function mount(opts: MountOptions = {}) {
  const done: Done[] = [];
  let r: ReturnType<typeof render> | undefined;
  await act(async () => {
    r = render(
      <Shell initial={opts.initial ?? emptyEditor(opts.history ?? [])} prompt={() => opts.prompt ?? 'dbox:/x$ '} color={false}
        complete={opts.complete ?? (async () => undefined)} onDone={(d) => done.push(d)}
        screen={opts.screen ?? new TerminalScreen(new Xterm(100, 24))} {...(opts.typeahead ? {typeahead: opts.typeahead} : {})} />,
    );
  });
  const type = async (...chunks: string[]) => {
    for (const c of chunks) {
      await act(async () => {
        r!.stdin.write(c);
      });
    }
  };
  return {...r!, done, type};
}

/** A Shell drawing into a real terminal emulator. */
async function onTerminal(cols: number, rows: number, opts: MountOptions & {before?: string} = {}) {
  const xt = new Xterm(cols, rows);
  if (opts.before) xt.write(opts.before);
  const s = await mount({...opts, screen: new TerminalScreen(xt)});
  return {...s, xt, settled: () => xt.settled()};
}

describe('Shell', () => {
  it('shows the prompt and the line with the cursor, and edits it', async () => {
    const s = await mount();
    await s.type('echo wrld', '\x1b[D', '\x1b[D', '\x1b[D', 'o');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ echo world');
    await s.type('\x01', '\x0b');
    expect(plain(s.lastFrame())).toBe('dbox:/x$');
    s.unmount();
  });

  it('hands back the line on Enter, and EOF on Ctrl-D', async () => {
    const s = await mount();
    await s.type('ls /containers', '\r');
    expect(s.done.map((d) => [d.kind, d.editor.text])).toEqual([['submit', 'ls /containers']]);
    expect(plain(s.lastFrame())).toBe('dbox:/x$ ls /containers');
    const e = await mount();
    await e.type('\x04');
    expect(e.done.map((d) => d.kind)).toEqual(['eof']);
  });

  it('Ctrl-C keeps the line on screen with ^C', async () => {
    const s = await mount();
    await s.type('half typed', '\x03');
    expect(s.done.map((d) => d.kind)).toEqual(['interrupt']);
    expect(plain(s.lastFrame())).toBe('dbox:/x$ half typed^C');
  });

  it('recalls history with Up and finds it with Ctrl-R', async () => {
    const s = await mount({history: ['cat etc/hostname', 'ls -l']});
    await s.type('\x1b[A', '\x1b[A');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ cat etc/hostname');
    const r = await mount({history: ['cat etc/hostname', 'ls -l']});
    await r.type('\x12', 'host');
    expect(plain(r.lastFrame())).toBe("(reverse-i-search)`host': cat etc/hostname");
  });

  it('completes on Tab and lists the candidates on a second Tab', async () => {
    const candidates = [{name: 'web', dir: true, state: 'running'}, {name: 'db', dir: true, state: 'running'}];
    const complete = vi.fn(async (line: string, cursor: number): Promise<Completion> =>
      line.endsWith('/cont') ? {start: 3, end: cursor, insert: '/containers/', candidates: [{name: 'containers', dir: true}]}
        : {start: 3, end: cursor, insert: line.slice(3, cursor), candidates});
    const s = await mount({complete});
    await s.type('cd /cont', '\t');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ cd /containers/');
    await s.type('\t', '\t');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ cd /containers/\nweb/  db/');
    await s.type('x');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ cd /containers/x'); // the list goes away
  });

  it('drops a slow completion when the line changed meanwhile', async () => {
    let release: () => void = () => undefined;
    let answered: Promise<Completion> = Promise.resolve({start: 0, end: 0, insert: '', candidates: []});
    const complete = () => (answered = new Promise<Completion>((resolve) => {
      release = () => resolve({start: 0, end: 2, insert: 'later', candidates: [{name: 'later', dir: false}]});
    }));
    const s = await mount({complete});
    await s.type('ab', '\t', 'c'); // typing goes on while the lookup is pending
    await act(async () => {
      release();
      await answered;
    });
    expect(plain(s.lastFrame())).toBe('dbox:/x$ abc');
  });
});

describe('bracketed paste', () => {
  const paste = (text: string) => `\x1b[200~${text}\x1b[201~`;

  it('inserts several lines without running them; Enter hands them all back, in order', async () => {
    const s = await mount();
    await s.type(paste('echo one\recho two\recho three\r'));
    expect(s.done).toEqual([]);
    expect(plain(s.lastFrame())).toBe('dbox:/x$ echo one\necho two\necho three\n');
    await s.type('\r');
    expect(s.done.map((d) => [d.kind, d.editor.text])).toEqual([['submit', 'echo one\necho two\necho three\n']]);
  });

  it('a Tab, a ^C or an escape sequence pasted is text, not a key; nothing raw reaches the frame', async () => {
    const complete = vi.fn(async () => undefined);
    const s = await mount({complete});
    await s.type(paste('a\tb\x03c\x1b[2Jd'));
    expect(complete).not.toHaveBeenCalled();
    expect(s.done).toEqual([]);
    expect(s.lastFrame()).toBe('dbox:/x$ a      b^Cc^[[2Jd'); // the Tab to column 16
    await s.type('\r');
    expect(s.done[0]!.editor.text).toBe('a\tb\x03c\x1b[2Jd');
  });

  it('a paste that begins after Enter in the same read goes to the next prompt whole', async () => {
    const s = await mount();
    await s.type('ls\r\x1b[200~echo a\r', 'echo b\x1b[201~');
    expect(s.done.map((d) => [d.editor.text, d.typeahead])).toEqual([['ls', '\x1b[200~echo a\recho b\x1b[201~']]);
    const next = await mount({typeahead: s.done[0]!.typeahead!});
    expect(next.done).toEqual([]);
    expect(plain(next.lastFrame())).toBe('dbox:/x$ echo a\necho b');
  });

  it('a paste split across reads is still one paste', async () => {
    const s = await mount();
    await s.type('\x1b[200~ls ', '-l\r', 'pwd\x1b', '[201~');
    expect(s.done).toEqual([]);
    await s.type('\r');
    expect(s.done[0]!.editor.text).toBe('ls -l\npwd');
  });

  it('without bracketed paste, lines after the first are kept as typeahead for the next prompt', async () => {
    const s = await mount();
    await s.type('echo one\recho two\rec');
    expect(s.done.map((d) => [d.editor.text, d.typeahead])).toEqual([['echo one', 'echo two\rec']]);
    const next = await mount({typeahead: s.done[0]!.typeahead!});
    expect(next.done.map((d) => [d.editor.text, d.typeahead])).toEqual([['echo two', 'ec']]);
    const last = await mount({typeahead: next.done[0]!.typeahead!});
    expect(last.done).toEqual([]);
    expect(plain(last.lastFrame())).toBe('dbox:/x$ ec');
  });
});

describe('on a terminal (xterm.js)', () => {
  it('wraps a long line as the terminal does and puts the cursor in the right cell, also mid-line', async () => {
    const t = await onTerminal(20, 10, {prompt: '\x1b[1;32mdbox\x1b[0m:/x$ '});
    const line = 'echo ' + 'abcdefghij'.repeat(4);
    await t.type(line);
    await t.settled();
    expect(t.xt.lines()).toEqual(['dbox:/x$ echo abcdef', 'ghijabcdefghijabcdef', 'ghijabcdefghij']);
    expect(t.xt.cursor()).toEqual({x: 14, y: 2});
    // Into the middle: 25 left, then type: the rest moves on and wraps again.
    await t.type(...Array.from({length: 25}, () => '\x1b[D'), 'XY');
    await t.settled();
    expect(t.xt.lines()).toEqual(['dbox:/x$ echo abcdef', 'ghijabcdeXYfghijabcd', 'efghijabcdefghij']);
    expect(t.xt.cursor()).toEqual({x: 11, y: 1});
  });

  it('a wide character that does not fit in the last column goes to the next row, and so does the cursor', async () => {
    const t = await onTerminal(10, 6, {prompt: '$ '});
    await t.type('abcdefg日本');
    await t.settled();
    expect(t.xt.lines()).toEqual(['$ abcdefg', '日本']);
    expect(t.xt.cursor()).toEqual({x: 4, y: 1});
    await t.type('\x1b[D', '\x1b[D');
    await t.settled();
    expect(t.xt.cursor()).toEqual({x: 0, y: 1});
    await t.type('\x1b[D');
    await t.settled();
    expect(t.xt.cursor()).toEqual({x: 8, y: 0});
  });

  it('a line that fills the row exactly leaves the cursor at the start of the next row', async () => {
    const t = await onTerminal(10, 6, {prompt: '$ '});
    await t.type('abcdefgh');
    await t.settled();
    expect(t.xt.cursor()).toEqual({x: 0, y: 1});
    await t.type('Z');
    await t.settled();
    expect(t.xt.lines()).toEqual(['$ abcdefgh', 'Z']);
  });

  it('combining marks take no column', async () => {
    const t = await onTerminal(10, 6, {prompt: '$ '});
    await t.type('e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301x');
    await t.settled();
    expect(t.xt.cursor()).toEqual({x: 1, y: 1});
  });

  it('Display all N possibilities? (y or n): n keeps the line; y prints the list a screenful at a time behind --More--', async () => {
    const names = Array.from({length: 150}, (_, i) => `file${String(i).padStart(3, '0')}`);
    const candidates: Candidate[] = names.map((name) => ({name, dir: false}));
    const t = await onTerminal(80, 10, {prompt: '$ ', complete: async (_l, cursor) => ({start: cursor - 1, end: cursor, insert: 'f', candidates})});
    await t.type('ls f', '\t', '\t');
    await t.settled();
    expect(t.xt.lines().at(-1)).toBe('Display all 150 possibilities? (y or n)');
    await t.type('n');
    await t.settled();
    expect(t.xt.lines().slice(-2)).toEqual(['Display all 150 possibilities? (y or n)', '$ ls f']);
    await t.type('\t', '\t', 'y');
    await t.settled();
    // 150 names in 9 columns: 17 rows; 9 (the screen less one) before --More--.
    let lines = t.xt.lines();
    expect(lines.at(-1)).toBe('--More--');
    expect(lines.at(-10)).toMatch(/^file000\s+file017/);
    await t.type('\r'); // one more line
    await t.settled();
    lines = t.xt.lines();
    expect(lines.at(-2)).toMatch(/^file009\s+file026/);
    expect(lines.at(-1)).toBe('--More--');
    await t.type(' '); // a page: the last 7 rows, then the prompt again
    await t.settled();
    lines = t.xt.lines();
    expect(lines.at(-2)).toMatch(/^file016\s+file033/);
    expect(lines.at(-1)).toBe('$ ls f');
    expect(lines.filter((l) => l === '--More--')).toEqual([]);
    expect(t.done).toEqual([]);
    await t.type('\x15', 'ls f', '\t', '\t', 'y', 'q');
    await t.settled();
    expect(t.xt.lines().at(-1)).toBe('$ ls f');
  });

  it('a list taller than the screen never scrolls the prompt away: 1,110 names go through the pager', async () => {
    const candidates: Candidate[] = Array.from({length: 1110}, (_, i) => ({name: `n${i}`, dir: false}));
    const t = await onTerminal(80, 24, {prompt: '$ ', complete: async (_l, cursor) => ({start: cursor, end: cursor, insert: '', candidates})});
    await t.type('x ', '\t', '\t', 'y');
    await t.settled();
    expect(t.xt.lines().at(-1)).toBe('--More--');
    await t.type('q');
    await t.settled();
    expect(t.xt.lines().at(-1)).toBe('$ x ');
    expect(t.xt.cursor().y).toBe(t.xt.lines().length - 1);
  });

  it('Ctrl-L clears the screen and draws the line again at the top, as it was', async () => {
    const t = await onTerminal(40, 8, {prompt: '$ ', before: 'old output\r\n'});
    await t.type('abc', '\x1b[D', '\x0c');
    await t.settled();
    expect(t.xt.term.buffer.active.getLine(t.xt.term.buffer.active.baseY)?.translateToString(true)).toBe('$ abc');
    expect(t.xt.cursor().x).toBe(4);
    expect(t.done).toEqual([]);
  });

  it('writes no control character from the line to the terminal', async () => {
    const t = await onTerminal(40, 8, {prompt: '$ '});
    await t.type('\x1b[200~\x1b]0;pwned\x07\x1b[8m\u0085\u202e\x1b[201~', '\x16\x07');
    await t.settled();
    const fromLine = t.xt.written.replace(/\x1b\[\??[0-9;]*[A-Za-z]/g, '').replace(/[\r\n]/g, '');
    expect(fromLine).not.toMatch(/[\x00-\x1f\x7f\u0080-\u009f\u202e]/);
    expect(t.xt.lines().join('')).toBe('$ ^[]0;pwned^G^[[8m\\302\\205\\342\\200\\256^G'); // (Ctrl-V Ctrl-G: ^G)
  });
});

describe('CompletionList', () => {
  it('lays candidates out in columns, coloured like ls', () => {
    const {lastFrame} = render(<CompletionList width={40} color
      candidates={[{name: 'web', dir: true, state: 'running'}, {name: 'old', dir: true, state: 'exited'}, {name: 'notes.txt', dir: false, mode: 0o100755}]} />);
    expect(plain(lastFrame())).toBe('web/  old/  notes.txt');
    expect(lastFrame()).toContain('\x1b[32mweb'); // running: green
    expect(lastFrame()).toContain('\x1b[31mold'); // stopped: red
  });
});
