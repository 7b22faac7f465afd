// dbox's own prompt (src/ui/interactive.tsx around readLine) in a real terminal (tmux), typed and
// pasted as a person does, with the session's bash running each line and container paths through
// the mount: a paste of 5 lines (bracketed, and unbracketed as typeahead), output without a final
// newline kept past the next key, a long wrapped line edited in the middle, a resize with no ghost
// rows, 1,000 completion candidates behind the question, vim saving a container file. Every wait
// is for something on the screen (or in the container), with a deadline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from '../integration/engine.js';
import {Terminal} from './tmux.js';

const hasEngine = requireEngine();
const p = `pr${process.pid}`;
const COLS = 80;

describe.runIf(hasEngine)("dbox's prompt in a terminal (tmux)", () => {
  let fixture: Fixture;
  let c: string;
  let home: string;
  let term: Terminal;
  const prompt = /dbox:[^\n]*\$/;
  const atPrompt = (): RegExp => new RegExp(`${prompt.source} ?$`, 'm');
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

  /** Waits for an empty prompt reading keys, types the line and presses Enter once it shows. */
  const line = async (text: string): Promise<void> => {
    await term.waitFor(atPrompt());
    await term.waitForEditor();
    term.text(text);
    await term.waitFor(new RegExp(`${escape(text.slice(-20))}$`, 'm'));
    term.keys('Enter');
  };
  /** A clean screen with the prompt on its first row. */
  const clear = async (): Promise<void> => {
    term.keys('C-u'); // whatever a failed test left on the line
    await line('clear');
    await term.waitFor(new RegExp(`^${prompt.source} ?\\n\\s*$`), 30_000, () => term.visible());
  };

  beforeAll(() => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) many[`many/f${String(i).padStart(4, '0')}`] = '';
    fixture = makeFixture('prompt', {'etc/motd': 'welcome\n', 'data/words': 'alpha\nbeta\n', ...many});
    c = fixture.run(`${p}c`);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
    term = Terminal.start(`dbox-${p}`, `cd ${home} && HOME=${home} XDG_STATE_HOME=${home}/state ${process.execPath} ${dboxPath}; echo "EXIT=$?"; sleep 600`, {x: COLS, y: 24});
  });
  afterAll(() => {
    term?.kill();
    fixture?.cleanup();
    fs.rmSync(home, {recursive: true, force: true});
  });

  it('a bracketed paste of 5 lines runs all 5, in order, on Enter; the history keeps it as one entry', async () => {
    await clear();
    await term.waitForEditor();
    term.paste(`echo one\ncat /containers/${c}/etc/motd\nfor i in 3 4; do\n  echo $i\ndone\n`);
    await term.waitFor(/^ {2}echo \$i\ndone\n/m);
    expect(term.screen()).not.toMatch(/^welcome$/m); // nothing ran before Enter
    term.keys('Enter');
    await term.waitFor(new RegExp(`^one\\nwelcome\\n3\\n4\\n${prompt.source} ?$`, 'm'));
    const history = fs.readFileSync(path.join(home, 'state/dbox/history'), 'utf8');
    expect(history).toMatch(/^#\d+\necho one\ncat [^\n]+\nfor i in 3 4; do\n {2}echo \$i\ndone\n$/m);
    // bash has it as one entry too (lithist): !! runs the whole paste again.
    await line('!!');
    await term.waitFor(new RegExp(`^done\\none\\nwelcome\\n3\\n4\\n${prompt.source} ?$`, 'm'));
  });

  it('a paste on a terminal without bracketed paste: each line is run in turn, a loop after "> "', async () => {
    await clear();
    await term.waitForEditor();
    // Unbracketed (tmux sends the lines with \r between them): what dbox reads after the first
    // Enter is typeahead for the prompts after it, the loop's body for its continuation prompts.
    term.paste(`sleep 0.2; echo first\necho second\nfor i in 3 4; do\necho $i\ndone\nls /containers/${c}/data\n`, false);
    await term.waitFor(new RegExp(`^first\\n${prompt.source} echo second\\nsecond\\n${prompt.source} for i in 3 4; do\\n> echo \\$i\\n> done\\n3\\n4\\n`
      + `${prompt.source} ls /containers/${c}/data\\nwords\\n${prompt.source} ?$`, 'm'));
  });

  it('output without a final newline stays on the screen after the next key, marked', async () => {
    await clear();
    await line('printf abc');
    await term.waitFor(new RegExp(`^abc%\\n${prompt.source} ?$`, 'm'));
    await term.waitForEditor();
    term.text('x');
    await term.waitFor(new RegExp(`^abc%\\n${prompt.source} x$`, 'm'));
    term.keys('BSpace');
    await term.waitFor(new RegExp(`^abc%\\n${prompt.source} ?$`, 'm'));
    await line(`printf 'no newline' > /containers/${c}/tmp/nonl; cat /containers/${c}/tmp/nonl`);
    await term.waitFor(new RegExp(`^no newline%\\n${prompt.source} ?$`, 'm'));
    term.text('y');
    await term.waitFor(new RegExp(`^no newline%\\n${prompt.source} y$`, 'm'));
    term.keys('C-u');
  });

  it('a long wrapped line edited in the middle shows the right text, the cursor on its cell', async () => {
    await clear();
    await term.waitForEditor();
    const head = `echo ${'a'.repeat(100)}`;
    const tail = `${'b'.repeat(100)} /containers/${c}`;
    term.text(head + tail);
    await term.waitFor(new RegExp(`${escape(tail.slice(-20))}$`, 'm'));
    // Back to the middle: the cursor crosses the rows the terminal wrapped.
    term.keys(...Array<string>(tail.length).fill('Left'));
    term.text('MIDDLE');
    const promptRow = (): {text: string; rows: string[]} => {
      const rows = term.visible().split('\n');
      const first = rows.findIndex((r) => prompt.test(r));
      const text = rows.slice(first).join('').trimEnd();
      return {text, rows};
    };
    const shown = (): string => promptRow().text;
    const want = `${head}MIDDLE${tail}`;
    await term.waitFor(new RegExp(`\\$ ${escape(want)}$`), 30_000, shown);
    // The cursor is right after MIDDLE: its cell counted from the prompt's first row.
    const {rows} = promptRow();
    const first = rows.findIndex((r) => prompt.test(r));
    const promptWidth = rows[first]!.indexOf('$ ') + 2;
    const at = promptWidth + head.length + 'MIDDLE'.length;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const cur = term.cursor();
      if (cur.y === first + Math.floor(at / COLS) && cur.x === at % COLS) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(term.cursor()).toEqual({x: at % COLS, y: first + Math.floor(at / COLS)});
    // And bash gets the edited line: its output (wrapped too) follows the line's rows, the prompt after it.
    term.keys('Enter');
    const joined = (): string => term.visible().split('\n').join('');
    await term.waitFor(new RegExp(`\\$ ${escape(want)}${escape(want.slice('echo '.length))}${prompt.source} ?$`), 30_000, () => joined().trimEnd());
  });

  it('a resize redraws the line once: no ghost rows, narrower or wider', async () => {
    await clear();
    await term.waitForEditor();
    const text = `echo ${'r'.repeat(140)}`;
    term.text(text);
    await term.waitFor(new RegExp(`${'r'.repeat(20)}$`, 'm'));
    /** What is on the visible screen: every non-empty row, and them joined. */
    const rows = (): string[] => term.visible().split('\n').filter((r) => r.trim() !== '');
    const promptWidth = rows()[0]!.indexOf('$ ') + 2;
    // Wider, narrower, then wider again: on a narrower window tmux keeps the cursor's row and
    // pushes the top of the line (re-wrapped taller) into the scrollback, and a wider window pulls
    // it back above the redrawn line; dbox asks where the cursor is and erases those rows then.
    // Last, fewer columns than the prompt, and back.
    for (const width of [120, COLS, 50, 120, 30, 100, 6, COLS]) {
      term.resize(width);
      const expected = Math.ceil((promptWidth + text.length) / width);
      const at = promptWidth + text.length;
      const deadline = Date.now() + 10_000;
      if (expected > 23) {
        // Taller than the screen: its last 23 rows fill it (the cursor must stay on the screen),
        // the cursor right after the line's last character.
        for (;;) {
          const now = term.visible().split('\n');
          const cur = term.cursor();
          if (now.slice(0, 22).every((r) => /^r+$/.test(r)) && now.slice(23).every((r) => r.trim() === '') && cur.x === at % width && cur.y === 22) break;
          if (Date.now() > deadline) throw new Error(`at ${width} columns the screen shows:\n${now.join('\n')}\ncursor ${JSON.stringify(cur)}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        continue;
      }
      // The screen settles on the line's own rows and nothing else: as many rows as the line takes
      // at this width, the cursor right after its last character.
      for (;;) {
        const now = rows();
        const cur = term.cursor();
        if (now.length === expected && now.join('').endsWith(`$ ${text}`) && now.slice(0, -1).every((r) => r.length === width)
          && cur.x === at % width && cur.y === Math.floor(at / width)) break;
        if (Date.now() > deadline) throw new Error(`at ${width} columns the screen shows ${now.length} rows, not ${expected}:\n${now.join('\n')}\ncursor ${JSON.stringify(cur)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    term.keys('C-u');
    await term.waitFor(new RegExp(`^${prompt.source} ?\\n\\s*$`), 10_000, () => term.visible());
    term.resize(COLS);
  });

  it('1,000 candidates: "Display all 1000 possibilities? (y or n)", n keeps the line, y pages them', async () => {
    await clear();
    await term.waitForEditor();
    const dir = `/containers/${c}/many/`;
    term.text(`ls ${dir}f`);
    term.keys('Tab');
    await term.waitFor(new RegExp(`ls ${escape(dir)}f0$`, 'm')); // the common prefix
    // As bash: the Tab after one that changed the line completes again (nothing more), the next one lists.
    term.keys('Tab', 'Tab');
    await term.waitFor(/^Display all 1000 possibilities\? \(y or n\)$/m);
    term.text('n');
    await term.waitFor(new RegExp(`^Display all 1000 possibilities\\? \\(y or n\\)\\n${prompt.source} ls ${escape(dir)}f0$`, 'm'));
    term.keys('Tab', 'Tab');
    await term.waitFor(/possibilities\? \(y or n\)\n[^]*possibilities\? \(y or n\)$/m);
    term.text('y');
    await term.waitFor(/^--More--$/m);
    term.text('q');
    await term.waitFor(new RegExp(`${prompt.source} ls ${escape(dir)}f0$`), 10_000, () => term.visible().trimEnd());
    term.text('999');
    term.keys('Enter');
    await term.waitFor(new RegExp(`^${escape(dir)}f0999\\n${prompt.source} ?$`, 'm'));
  });

  it('Ctrl-C at the prompt, then a line on a container path still works', async () => {
    await clear();
    await term.waitForEditor();
    term.text('half typed');
    term.keys('C-c');
    await term.waitFor(new RegExp(`half typed\\^C\\n.*\\[130\\]\\$ ?$`, 'm'));
    await line(`cat /containers/${c}/data/words`);
    await term.waitFor(/^alpha\nbeta\n/m);
  });

  it('vim saves a container file: ihello<Esc>:wq<Enter>', async () => {
    await line(`vim -u NONE -N /containers/${c}/tmp/hello.txt`);
    await term.waitFor(/hello\.txt/);
    term.text('ihello');
    await term.waitFor(/^hello$/m);
    term.keys('Escape');
    term.text(':wq');
    term.keys('Enter');
    await term.waitFor(atPrompt());
    expect(docker('exec', c, 'cat', '/tmp/hello.txt')).toBe('hello');
    await line('echo after-vim');
    await term.waitFor(/^after-vim$/m);
  });
});
