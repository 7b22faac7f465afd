// The line editor in a real terminal (tmux), typed and pasted as a person does: the prompt in a
// loop with each line run by bash (test/e2e/editor-driver.tsx, what the controller does around
// readLine). Every wait is for something on the screen, with a deadline.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parseHistory} from '../../src/shell/history-file.js';
import {buildDriver} from '../../harness/editor-driver-build.js';
import {Terminal} from './tmux.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const p = `ed${process.pid}`;
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe.runIf(hasTmux)('line editor in a terminal (tmux)', () => {
  let dir: string;
  let driver: string;
  const terms: Terminal[] = [];
  const start = (name: string, env: Record<string, string> = {}, size = {x: 80, y: 24}): Terminal => {
    const vars = Object.entries({HOME: dir, EDITOR_PROMPT: '$ ', ...env}).map(([k, v]) => `${k}=${q(v)}`).join(' ');
    const t = Terminal.start(`${p}-${name}`, `cd ${q(dir)} && env ${vars} ${q(process.execPath)} ${q(driver)}; echo EXIT=$?; sleep 600`, size);
    terms.push(t);
    return t;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-editor-e2e-'));
    driver = await buildDriver(dir);
  });
  afterAll(() => {
    for (const t of terms) t.kill();
    fs.rmSync(dir, {recursive: true, force: true});
  });

  it('keeps output that did not end with a newline, marked, and starts the prompt below it', async () => {
    const t = start('eol');
    await t.waitFor(/^\$ ?$/m);
    t.text('printf abc');
    t.keys('Enter');
    await t.waitFor(/^abc%\n\$ ?$/m);
    t.text('echo whole');
    t.keys('Enter');
    // Output that ended with a newline: the prompt right below, no marker, no blank line.
    await t.waitFor(/^whole\n\$ ?$/m);
    t.text('x');
    await t.waitFor(/^abc%\n\$ echo whole\nwhole\n\$ x$/m); // typing does not erase it
    t.kill();
  });

  it('a paste of 5 lines runs them in order on Enter; a pasted Tab does not complete', async () => {
    const t = start('paste');
    await t.waitFor(/^\$ ?$/m);
    t.paste('echo one\necho two\nfor i in 3 4; do\n  echo $i\ndone\n');
    await t.waitFor(/^\$ echo one\necho two\nfor i in 3 4; do\n  echo \$i\ndone\n$/m);
    expect(t.screen()).not.toMatch(/^one$/m); // nothing ran yet
    t.keys('Enter');
    await t.waitFor(/^one\ntwo\n3\n4\n\$ ?$/m);
    t.paste('echo a\tb');
    await t.waitFor(/^\$ echo a\s+b$/m);
    t.keys('Enter');
    await t.waitFor(/^a\tb$|^a\s+b$/m);
  });

  it('bracketed paste is off while a command runs: a program gets a paste without markers', async () => {
    const t = start('pasteoff');
    await t.waitFor(/^\$ ?$/m);
    t.text('cat -v');
    t.keys('Enter');
    await t.waitFor(/^\$ cat -v\n?$/m, 10_000, () => t.visible().trimEnd() + '\n');
    t.paste('pasted\n');
    await t.waitFor(/^pasted\npasted$/m); // the terminal's echo, then cat's copy: no ^[[200~
    t.keys('C-d');
    await t.waitFor(/^pasted\n\$ ?$/m);
    t.paste('echo again');
    await t.waitFor(/^\$ echo again$/m); // and on again at the next prompt
  });

  it('a paste taller than the screen: the start of it can still be edited', async () => {
    const t = start('tall', {}, {x: 60, y: 15});
    await t.waitFor(/^\$ ?$/m);
    t.paste(Array.from({length: 40}, (_, i) => `echo l${i}`).join('\n'));
    await t.waitFor(/^echo l39$/m);
    t.keys('C-a');
    await t.waitFor(/^\$ echo l0$/m, 10_000, () => t.visible());
    expect(t.cursor()).toEqual({x: 2, y: t.visible().split('\n').findIndex((l) => l.startsWith('$ echo l0'))});
    t.text('#');
    await t.waitFor(/^\$ #echo l0$/m, 10_000, () => t.visible());
    t.keys('Enter');
    await t.waitFor(/^l38\nl39\n\$ ?$/m);
    expect(t.screen()).not.toMatch(/^l0$/m);
    expect(t.screen()).toMatch(/^l1$/m);
  });

  it('a long wrapped line edited in the middle: the cursor is where the character is', async () => {
    const t = start('wrap', {}, {x: 30, y: 12});
    await t.waitFor(/^\$ ?$/m);
    const word = 'abcdefghij';
    t.text(`echo ${word.repeat(6)}`);
    // 67 cells in rows of 30: the last row holds 7, and the cursor is after them.
    await t.waitFor(/^\$ echo abcdefghijabcdefghijabc\ndefghijabcdefghijabcdefghijabc\ndefghij$/m, 10_000, () => t.visible());
    expect(t.cursor()).toEqual({x: 7, y: 2});
    // 33 left: onto the middle row, after `abc` of its fourth word.
    for (let i = 0; i < 33; i++) t.keys('Left');
    await t.waitFor(/^ok$/, 5000, () => (t.cursor().y === 1 && t.cursor().x === 4 ? 'ok' : ''));
    t.text('日本語');
    // The rest moves on by 6 cells and wraps again; the cursor after the wide characters.
    await t.waitFor(/^\$ echo abcdefghijabcdefghijabc\ndefg日本語hijabcdefghijabcdefg\nhijabcdefghij$/m, 10_000, () => t.visible());
    expect(t.cursor()).toEqual({x: 10, y: 1});
    t.keys('Enter');
    const output = `${word.repeat(2)}abcdefg日本語hij${word.repeat(3)}`;
    await t.waitFor(/^ok$/, 10_000, () => (t.visible().replace(/\n/g, '').includes(`${output}$`) ? 'ok' : t.visible()));
  });

  it('a resize while a wrapped line and a candidate list are shown leaves no ghost rows', async () => {
    const t = start('resize', {}, {x: 40, y: 20});
    fs.mkdirSync(path.join(dir, 'r'));
    for (const n of ['alpha', 'beta', 'gamma', 'delta']) fs.writeFileSync(path.join(dir, 'r', `${n}.resize`), '');
    await t.waitFor(/^\$ ?$/m);
    // The prompt at the bottom of a full screen, where it usually is.
    t.text('seq 30');
    t.keys('Enter');
    await t.waitFor(/^30\n\$ ?$/m);
    t.text(`echo ${'x'.repeat(50)} r/`);
    t.keys('Tab', 'Tab');
    await t.waitFor(/^alpha\.resize\s+delta\.resize$/m);
    const check = async (cols: number): Promise<void> => {
      t.resize(cols);
      const whole = `$ echo ${'x'.repeat(50)} r/`;
      await t.waitFor(/^ok$/, 5000, () => {
        const rows = t.visible().split('\n').map((l) => l.trimEnd()).filter((l) => !/^\d+$/.test(l));
        const at = rows.findIndex((l) => l.startsWith('$ echo x'));
        if (at < 0) return rows.join('\n');
        // The line, re-wrapped, once; then the list, laid out again for the width; nothing after.
        const lineRows = Math.ceil(whole.length / cols);
        const joined = rows.slice(at, at + lineRows).join('');
        const rest = rows.slice(at + lineRows).filter((l) => l !== '');
        const once = rows.filter((l) => l.startsWith('$ echo x')).length === 1;
        const names = rest.join(' ').split(/\s+/).filter(Boolean).sort();
        return once && joined === whole.trimEnd() && names.join(' ') === 'alpha.resize beta.resize delta.resize gamma.resize'
          && rest.every((l) => l.length < cols) ? 'ok' : `${cols} columns:\n${rows.join('\n')}`;
      });
    };
    await check(25);
    await check(17);
    await check(60);
    await check(40);
    t.keys('C-c');
    await t.waitFor(/\^C\n\[130\] \$ ?$/m);
  });

  it('1,110 candidates: asks first, pages with --More--, and the prompt stays on the screen', async () => {
    const many = path.join(dir, 'many');
    fs.mkdirSync(many);
    for (let i = 0; i < 1110; i++) fs.writeFileSync(path.join(many, `file${String(i).padStart(4, '0')}`), '');
    const t = start('many', {}, {x: 100, y: 30});
    await t.waitFor(/^\$ ?$/m);
    t.text('ls many/');
    t.keys('Tab');
    await t.waitFor(/^\$ ls many\/file$/m);
    // As bash: the Tab after one that changed the line completes again (nothing more), the next one lists.
    t.keys('Tab', 'Tab');
    await t.waitFor(/^Display all 1110 possibilities\? \(y or n\)$/m);
    t.text('n');
    await t.waitFor(/^Display all 1110 possibilities\? \(y or n\)\n\$ ls many\/file$/m);
    t.keys('Tab', 'Tab');
    await t.waitFor(/^\$ ls many\/file\nDisplay all 1110 possibilities\? \(y or n\)\n\$ ls many\/file\nDisplay all 1110 possibilities\? \(y or n\)$/m);
    t.text('y');
    await t.waitFor(/^--More--$/m);
    expect(t.visible()).toMatch(/^file0000\s+file0111/m); // 10 columns, 111 rows; 29 a page
    t.text(' ');
    await t.waitFor(/^file0057\s+file0168.*\n--More--$/m);
    t.text('q');
    await t.waitFor(/^\$ ls many\/file$/m, 10_000, () => t.visible().trimEnd());
    expect(t.visible().trimEnd().split('\n').at(-1)).toBe('$ ls many/file');
    t.text('0001');
    t.keys('Enter');
    await t.waitFor(/^many\/file0001$/m);
  });

  it('history: multi-line entries saved and recalled whole; a line typed with a leading space is not kept (HISTCONTROL=ignorespace); the file is 0600', async () => {
    const histfile = path.join(dir, 'state', 'history');
    const env = {EDITOR_HISTFILE: histfile, HISTCONTROL: 'ignorespace'};
    const t = start('hist', env);
    await t.waitFor(/^\$ ?$/m);
    t.paste('for i in 1 2; do\n  echo loop$i\ndone');
    t.keys('Enter');
    await t.waitFor(/^loop2\n\$ ?$/m);
    t.text(' echo secret');
    t.keys('Enter');
    await t.waitFor(/^secret\n\$ ?$/m);
    await t.waitFor(/^ok$/, 5000, () => (fs.existsSync(histfile) ? 'ok' : ''));
    expect(parseHistory(fs.readFileSync(histfile, 'utf8'))).toEqual(['for i in 1 2; do\n  echo loop$i\ndone']);
    expect(fs.statSync(histfile).mode & 0o777).toBe(0o600);
    t.keys('C-d');
    await t.waitFor(/^EXIT=0$/m);
    const u = start('hist2', env);
    await u.waitFor(/^\$ ?$/m);
    u.keys('Up');
    await u.waitFor(/^\$ for i in 1 2; do\n  echo loop\$i\ndone$/m);
    u.keys('Enter');
    await u.waitFor(/^loop1\nloop2\n\$ ?$/m);
  });

  it('`!!` and `!$` reach the command as typed', async () => {
    const t = start('bang');
    await t.waitFor(/^\$ ?$/m);
    t.text("echo '!!' '!$' !x");
    t.keys('Enter');
    await t.waitFor(/^!! !\$ !x$/m);
  });
});
