// The history file is the user's alone: each test tries to make dbox read or write somewhere it
// must not (a link, a FIFO, a directory someone else owns or can write), and checks it does not.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {formatHistory, historyPath, historyPolicy, loadHistory, parseHistory, saveHistory} from '../../src/shell/history-file.js';

let tmp: string;
let file: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-hist-'));
  file = path.join(tmp, 'state', 'dbox', 'history');
});
afterEach(() => fs.rmSync(tmp, {recursive: true, force: true}));

describe('history file', () => {
  it('is where XDG says, in bash format with timestamps; multi-line entries come back whole', () => {
    expect(historyPath({HOME: '/home/u'})).toBe('/home/u/.local/state/dbox/history');
    expect(historyPath({XDG_STATE_HOME: '/s', HOME: '/home/u'})).toBe('/s/dbox/history');
    const entries = ['ls', 'for i in 1 2; do\n  echo $i\ndone', 'echo "a b"'];
    expect(saveHistory(file, entries)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^#\d+\nls\n#\d+\nfor i in 1 2; do\n {2}echo \$i\ndone\n#\d+\necho "a b"\n$/);
    expect(loadHistory(file)).toEqual(entries);
    expect(parseHistory('a\nb\n\nc\n')).toEqual(['a', 'b', 'c']); // the old format: a line an entry
    expect(parseHistory(formatHistory(['x\ny', 'z']))).toEqual(['x\ny', 'z']);
  });

  it('file 0600 and directory 0700 whatever the umask; HISTFILESIZE entries kept in the file, HISTSIZE read', () => {
    const old = process.umask(0);
    try {
      saveHistory(file, ['a', 'b', 'c', 'd'], historyPolicy({HISTFILESIZE: '3'}));
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(loadHistory(file)).toEqual(['b', 'c', 'd']);
    expect(loadHistory(file, historyPolicy({HISTSIZE: '2'}))).toEqual(['c', 'd']);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['history']); // no temporary left
  });

  it('a link in place of the file is neither read nor written through', () => {
    const secret = path.join(tmp, 'secret');
    fs.writeFileSync(secret, 'root:x:0:0\n');
    fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
    fs.symlinkSync(secret, file);
    expect(loadHistory(file)).toEqual([]);
    expect(saveHistory(file, ['ls'])).toBe(true);
    expect(fs.readFileSync(secret, 'utf8')).toBe('root:x:0:0\n'); // the target is untouched
    expect(fs.lstatSync(file).isFile()).toBe(true); // the link was replaced by the user's own file
  });

  it('a FIFO in place of the file does not block the shell', () => {
    fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
    const {status} = spawnSync('mkfifo', [file]);
    expect(status).toBe(0);
    expect(loadHistory(file)).toEqual([]);
  });

  it('a file someone else owns is not read', () => {
    saveHistory(file, ['mine']);
    fs.chownSync(file, 65534, 65534);
    expect(loadHistory(file)).toEqual([]);
  });

  it.each([
    ['owned by someone else', (dir: string) => fs.chownSync(dir, 65534, 65534)],
    ['writable by the group', (dir: string) => fs.chmodSync(dir, 0o770)],
    ['writable by anyone (sticky /tmp style)', (dir: string) => fs.chmodSync(dir, 0o1777)],
  ])('a directory %s is not used: history stays in memory', (_what, spoil) => {
    saveHistory(file, ['before']);
    const dir = path.dirname(file);
    spoil(dir);
    expect(loadHistory(file)).toEqual([]);
    expect(saveHistory(file, ['after'])).toBe(false);
    fs.chownSync(dir, 0, 0);
    fs.chmodSync(dir, 0o700);
    expect(loadHistory(file)).toEqual(['before']); // nothing was written there
  });

  it('a directory that is a link is not followed', () => {
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.mkdirSync(elsewhere, {mode: 0o700});
    fs.mkdirSync(path.join(tmp, 'state'), {mode: 0o700});
    fs.symlinkSync(elsewhere, path.dirname(file));
    expect(saveHistory(file, ['x'])).toBe(false);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });
});
