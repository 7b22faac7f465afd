// The mount's log file (src/fuse/log.ts): never followed through a link, never another's file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {logLine, openMountLog} from '../../src/fuse/log.js';

describe('the mount log', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-log-'));
  });
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}));

  it('is created 0600 and appended to', () => {
    for (const line of ['one\n', 'two\n']) {
      const {fd, path: file} = openMountLog(dir);
      fs.writeSync(fd, line);
      fs.closeSync(fd);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(fs.readFileSync(path.join(dir, 'mount.log'), 'utf8')).toBe('one\ntwo\n');
  });

  it('refuses a symlink planted in its place (the target stays untouched)', () => {
    const target = path.join(dir, 'target');
    fs.writeFileSync(target, 'precious\n');
    fs.symlinkSync(target, path.join(dir, 'mount.log'));
    expect(() => openMountLog(dir)).toThrow(/ELOOP/);
    expect(fs.readFileSync(target, 'utf8')).toBe('precious\n');
  });

  it('refuses a hard link to another file, and a directory', () => {
    const other = path.join(dir, 'other');
    fs.writeFileSync(other, 'x');
    fs.linkSync(other, path.join(dir, 'mount.log'));
    expect(() => openMountLog(dir)).toThrow(/not a log file/);
    fs.rmSync(path.join(dir, 'mount.log'));
    fs.mkdirSync(path.join(dir, 'mount.log'));
    expect(() => openMountLog(dir)).toThrow();
  });

  it('tightens a loose mode, and stamps lines without control characters', () => {
    fs.writeFileSync(path.join(dir, 'mount.log'), '', {mode: 0o644});
    fs.chmodSync(path.join(dir, 'mount.log'), 0o644);
    fs.closeSync(openMountLog(dir).fd);
    expect(fs.statSync(path.join(dir, 'mount.log')).mode & 0o777).toBe(0o600);
    expect(logLine('a\x1b[2Jb\nc')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d dbox-mount\[\d+\]: a\?\[2Jb\?c\n$/);
  });
});
