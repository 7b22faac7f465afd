// Differential: the same keys typed into bash 5.2's readline (`bash --norc -i`, no inputrc) and
// into dbox's line editor, each in its own tmux pane; the resulting line and cursor column must be
// the same. Each case ends with a marker character typed at the cursor (`@`): when it shows, every
// key before it has been handled, and where it lands shows the cursor. Then Ctrl-C gives a fresh
// line on both sides.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {buildDriver} from '../../harness/editor-driver-build.js';
import {Terminal} from './tmux.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0 && spawnSync('bash', ['-c', '[[ ${BASH_VERSINFO[0]} -ge 5 ]]']).status === 0;
const p = `rl${process.pid}`;
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Keys as tmux names; `L:` for literal text. */
const cases: [string, string[]][] = [
  ['Ctrl-T at the end swaps the last two', ['L:abcd', 'C-t']],
  ['Ctrl-T in the middle swaps and moves on', ['L:abcd', 'Left', 'Left', 'C-t']],
  ['Ctrl-T at the start does nothing', ['L:abcd', 'C-a', 'C-t']],
  ['Ctrl-T with wide characters', ['L:ab日本', 'Left', 'C-t']],
  ['Ctrl-_ undoes typing in one step', ['L:abc def', 'C-_']],
  ['Ctrl-_ undoes a kill', ['L:abc def', 'C-w', 'C-_']],
  ['Ctrl-_ undoes an insert in the middle, cursor where it began', ['L:abc', 'C-a', 'L:xy', 'C-_']],
  ['Ctrl-_ twice', ['L:abc def', 'C-w', 'C-u', 'C-_', 'C-_']],
  ['Ctrl-_ undoes Ctrl-T', ['L:abcd', 'Left', 'C-t', 'C-_']],
  ['Ctrl-X Ctrl-U undoes', ['L:abc def', 'C-x', 'C-u']],
  ['Alt-. yanks the last word of the previous line', ['M-.']],
  ['Alt-. again goes one line further back', ['M-.', 'M-.']],
  ['Alt-. three times', ['M-.', 'M-.', 'M-.']],
  ['Alt-1 Alt-. yanks the first argument', ['M-1', 'M-.']],
  ['Alt-0 Alt-. yanks the command word', ['M-0', 'M-.']],
  ['Alt-1 Alt-. again keeps the argument, one line back', ['M-1', 'M-.', 'M-.']],
  ['Alt-_ is Alt-.', ['L:x ', 'M-_']],
  ['Alt-. of a quoted word and a redirection target', ['M-.', 'M-.', 'M-.', 'M-.']],
  ['Alt-T at the end swaps the last two words', ['L:one two three', 'M-t']],
  ['Alt-T in the middle', ['L:one two three', 'M-b', 'M-b', 'M-t']],
  ['Alt-C capitalizes', ['L:hello wORLD', 'M-b', 'M-c']],
  ['Alt-U upcases', ['L:hello wORLD', 'M-b', 'M-b', 'M-u']],
  ['Alt-L downcases', ['L:HELLO World', 'M-b', 'M-b', 'M-l']],
  ['Alt-B stops at _', ['L:foo_bar', 'M-b']],
  ['Alt-B stops at / and .', ['L:ab/cd.ef', 'M-b', 'M-b']],
  ['Alt-F', ['L:ab cd ef', 'C-a', 'M-f', 'M-f']],
  ['Alt-D kills a word forward', ['L:ab/cd.ef gh', 'C-a', 'M-d']],
  ['Alt-Backspace', ['L:one two', 'M-BSpace']],
  ['Ctrl-Left', ['L:ab cd', 'C-Left']],
  ['Ctrl-Right', ['L:ab cd', 'C-a', 'C-Right']],
  ['Home and End', ['L:abc def', 'Home', 'L:>', 'End', 'Left']],
  ['Ctrl-V Ctrl-C inserts ^C', ['L:ab', 'C-v', 'C-c', 'L:d']],
  ['Ctrl-V Tab inserts a Tab', ['L:abc', 'C-v', 'Tab', 'L:d']],
  ['Ctrl-K then Ctrl-Y', ['L:abc def ghi', 'M-b', 'C-k', 'C-a', 'C-y']],
  ['Ctrl-U', ['L:abc def', 'Left', 'Left', 'C-u']],
  ['Ctrl-W', ['L:ls /a/b c', 'C-w']],
  ['Alt-3 Left moves three', ['L:abcdef', 'M-3', 'Left']],
  ['Ctrl-D deletes at the cursor', ['L:abc', 'C-a', 'C-d']],
  ['history Up and Down', ['Up', 'Up', 'Down']],
  ['Alt-R reverts the line', ['Up', 'C-w', 'L:zz', 'M-r']],
  ['!! and !$ are text', ['L:echo !! !$ ^x^y']],
  ['wide and combining characters', ['L:e\u0301日本', 'Left', 'Left', 'L:x']],
  ['consecutive kills join in the kill buffer', ['L:abc def ghi', 'C-w', 'C-w', 'C-y']],
  ['Ctrl-K then Ctrl-U join', ['L:abc def', 'M-b', 'C-k', 'C-u', 'C-y']],
  ['Alt-D twice then Ctrl-Y', ['L:one two three', 'C-a', 'M-d', 'M-d', 'C-y']],
  ['a movement between kills starts a new kill', ['L:abc def ghi', 'C-w', 'Left', 'C-w', 'C-y']],
  ['Alt-Y after Ctrl-Y cycles the kill ring', ['L:aa bb cc', 'C-w', 'Left', 'C-w', 'C-e', 'C-y', 'M-y']],
  ['Ctrl-T at the end of a one-character line', ['L:a', 'C-t']],
  ['Alt-F at the end', ['L:ab', 'M-f', 'M-f']],
  ['Ctrl-R finds, a movement key takes the match for editing', ['C-r', 'L:two', 'Right']],
  ['Ctrl-R again finds an older match', ['C-r', 'L:echo', 'C-r', 'C-e']],
  ['Ctrl-R then Ctrl-G gives the line back', ['L:typed', 'C-r', 'L:ls', 'C-g']],
  ['Ctrl-R, Escape', ['C-r', 'L:d x', 'Escape', 'C-b']],
];

describe.runIf(hasTmux)('keys: dbox against bash 5.2 readline', () => {
  let dir: string;
  let bash: Terminal;
  let dbox: Terminal;

  /** The cursor's row on the screen and the cursor's column, read in one tmux command (so they agree). */
  const state = (t: Terminal): {line: string; x: number} => {
    const out = execFileSync('tmux', ['display', '-p', '-t', t.name, '#{cursor_x},#{cursor_y}', ';', 'capture-pane', '-p', '-t', t.name], {encoding: 'utf8'});
    const [head, ...rows] = out.split('\n');
    const [x, y] = head!.split(',').map(Number);
    return {line: rows[y!]!.trimEnd(), x: x!};
  };
  /** Waits until the cursor's row holds the marker, and reads it twice the same (the program is done drawing). */
  const settled = async (t: Terminal): Promise<{line: string; x: number}> => {
    let last = '';
    let result = {line: '', x: 0};
    await t.waitFor(/^ok$/, 10_000, () => {
      result = state(t);
      const now = JSON.stringify(result);
      const ok = result.line.includes('@') && now === last;
      last = now;
      return ok ? 'ok' : '';
    });
    return result;
  };

  const typeAll = (t: Terminal, keys: string[]): void => {
    for (const k of keys) {
      if (k.startsWith('L:')) t.text(k.slice(2));
      else t.keys(k);
    }
  };

  /** Ctrl-C, then Ctrl-L: an empty line alone at the top of the screen (no older `@` anywhere). */
  const freshLine = async (t: Terminal): Promise<void> => {
    t.keys('C-c');
    await t.waitFor(/^ok$/, 10_000, () => (state(t).line === '$' && state(t).x === 2 ? 'ok' : ''));
    t.keys('C-l');
    await t.waitFor(/^ok$/, 10_000, () => (t.visible().trim() === '$' && t.cursor().y === 0 && t.cursor().x === 2 ? 'ok' : ''));
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-rl-'));
    const driver = await buildDriver(dir);
    const base = `HOME=${q(dir)} TERM=tmux-256color LC_ALL=C.UTF-8 PATH=/usr/bin:/bin`;
    bash = Terminal.start(`${p}-bash`, `cd ${q(dir)} && env -i ${base} PS1='$ ' INPUTRC=/dev/null HISTFILE= bash --norc --noprofile -i`, {x: 100, y: 30});
    dbox = Terminal.start(`${p}-dbox`, `cd ${q(dir)} && env -i ${base} EDITOR_PROMPT='$ ' EDITOR_PLAIN=1 ${q(process.execPath)} ${q(driver)}`, {x: 100, y: 30});
    for (const t of [bash, dbox]) {
      await t.waitFor(/^\$ ?$/m);
      // History both sides share: the lines Alt-. and Up reach back to.
      for (const line of ['echo "a b" c > out', 'echo one two three', 'ls -d x y']) {
        t.text(line);
        t.keys('Enter');
        await t.waitFor(/^ok$/, 10_000, () => (state(t).line === '$' && t.visible().includes(line) ? 'ok' : ''));
      }
      await freshLine(t);
    }
  });
  afterAll(() => {
    bash?.kill();
    dbox?.kill();
    fs.rmSync(dir, {recursive: true, force: true});
  });

  it.each(cases)('%s', async (_name, keys) => {
    const results = [];
    for (const t of [bash, dbox]) {
      typeAll(t, [...keys, 'L:@']);
      results.push(await settled(t));
      await freshLine(t);
    }
    expect(results[1]).toEqual(results[0]);
  });
});
