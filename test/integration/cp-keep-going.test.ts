// A tree copy that meets entries it cannot copy goes on, as GNU cp 9.1 does: each such entry named
// once, the rest copied, status 1. Against GNU's own run on the same kernel files (a /proc
// directory with a write-only entry root cannot open: net/ipv4/route/flush), through each walk:
// the native walk (host to host, and out of a running container), the walk through the interface
// (-x), and a merge into an existing directory; and the whole root of a running container, /proc
// and all, which ends (a /proc file is copied up to the size its stat gives: pagemap never ends)
// and leaves no temporary. (A file that fails in the middle of its read is removed: the unit test
// test/unit/copy-keep-going.test.ts, with a destination that makes the file first.)
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {chain, dbox, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();

/** Every path below `dir`, sorted. */
function names(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of fs.readdirSync(path.join(dir, rel))) {
      const p = rel ? `${rel}/${n}` : n;
      out.push(p);
      if (fs.lstatSync(path.join(dir, p)).isDirectory()) walk(p);
    }
  };
  walk('');
  return out.sort();
}

const ROUTE = 'proc/sys/net/ipv4/route';

describe.runIf(hasEngine)('cp goes on past entries it cannot copy, as GNU cp', () => {
  let fixture: Fixture;
  let c: string;
  let pid: string;
  let out: string;
  beforeAll(() => {
    fixture = makeFixture('keepgoing');
    c = fixture.run('kg');
    pid = docker('inspect', '-f', '{{.State.Pid}}', c);
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-keepgoing-'));
  });
  afterAll(() => {
    fixture?.cleanup();
    if (out) spawnSync('rm', ['-rf', out]); // GNU rm removes any depth (fs.rmSync stops at PATH_MAX)
  });

  /** GNU's copy of `from` (a host path) and its result. */
  const gnu = (from: string, to: string, option = '-r'): {status: number; stderr: string; names: string[]} => {
    const r = spawnSync('cp', [option, from, to], {encoding: 'utf8'});
    return {status: r.status ?? -1, stderr: r.stderr, names: names(to)};
  };

  it('GNU itself meets one entry it cannot open here (the case is real)', () => {
    const g = gnu(`/${ROUTE}`, `${out}/gnu-host`);
    expect(g.status).toBe(1);
    expect(g.stderr).toBe(`cp: cannot open '/${ROUTE}/flush' for reading: Permission denied\n`);
    expect(g.names.length).toBeGreaterThan(5);
  });

  it('the native walk (host to host): the same entries as GNU, the one it cannot open named, status 1', () => {
    const g = gnu(`/${ROUTE}`, `${out}/g1`);
    const r = dbox(`cp -r /${ROUTE} ${out}/d1`);
    expect({status: r.status, stderr: r.stderr, names: names(`${out}/d1`)})
      .toEqual({status: 1, stderr: `cp: cannot copy '/${ROUTE}/flush' to '${out}/d1/flush': Permission denied\n`, names: g.names});
  });

  it('-L and -H on a link to the directory: the entry named below the operand as written, as GNU names it', () => {
    fs.symlinkSync(`/${ROUTE}`, `${out}/link`);
    const g = gnu(`${out}/link`, `${out}/g-link`, '-rL');
    expect(g.stderr).toBe(`cp: cannot open '${out}/link/flush' for reading: Permission denied\n`);
    for (const [option, to] of [['-rL', 'dl'], ['-rH', 'dh']] as const) {
      const r = dbox(`cp ${option} ${out}/link ${out}/${to}`);
      expect({status: r.status, stderr: r.stderr, names: names(`${out}/${to}`)})
        .toEqual({status: 1, stderr: `cp: cannot copy '${out}/link/flush' to '${out}/${to}/flush': Permission denied\n`, names: g.names});
    }
  });

  it('out of a running container, by the native walk, by the interface walk (-x), and merged into an existing directory', () => {
    const g = gnu(`/proc/${pid}/root/${ROUTE}`, `${out}/g2`);
    const shown = `/containers/${c}/${ROUTE}`;
    const native = dbox(`cp -r ${shown} ${out}/d2`);
    expect({status: native.status, stderr: native.stderr, names: names(`${out}/d2`)})
      .toEqual({status: 1, stderr: `cp: cannot copy '${shown}/flush' to '${out}/d2/flush': Permission denied\n`, names: g.names});
    const walked = dbox(`cp -rx ${shown} ${out}/d3`);
    expect({status: walked.status, stderr: walked.stderr, names: names(`${out}/d3`)})
      .toEqual({status: 1, stderr: `cp: cannot copy '${shown}/flush' to '${out}/d3/flush': Permission denied\n`, names: g.names});
    fs.mkdirSync(`${out}/d4/route`, {recursive: true});
    const merged = dbox(`cp -r ${shown} ${out}/d4`);
    expect({status: merged.status, stderr: merged.stderr, names: names(`${out}/d4/route`)})
      .toEqual({status: 1, stderr: `cp: cannot copy '${shown}/flush' to '${out}/d4/route/flush': Permission denied\n`, names: g.names});
  });

  it('the whole root of a running container, /proc and all, and a directory deeper than a path can name: it ends, status 1, the rest copied, no temporary', () => {
    // A container's hostile depth is one entry's error (GNU cp: "cannot stat"), not the backup's.
    chain(`/proc/${pid}/root`, '/deep', 2_100, 'd');
    const r = dbox(`cp -a /containers/${c}/ ${out}/root`);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter(Boolean);
    // Each message names one entry below /proc or /sys (or a device node left out), or the first
    // entry too deep: the rest went through.
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(new RegExp(`^cp: (cannot copy '/containers/${c}/(proc|sys)/|omitting character device '/containers/${c}/(dev|proc)/|cannot copy '/containers/${c}/deep(/d)+' to '${out}/root/deep(/d)+': File name too long$)`));
    expect(lines.filter((l) => l.endsWith(': File name too long'))).toHaveLength(1);
    expect(fs.existsSync(`${out}/root/deep/d/d/d`)).toBe(true);
    expect(fs.readFileSync(`${out}/root/etc/passwd`, 'utf8')).toContain('app:x:1000');
    expect(fs.lstatSync(`${out}/root/bin/sh`).isSymbolicLink()).toBe(true);
    // pagemap says 0 bytes and would never end: copied as its stat says.
    expect(fs.statSync(`${out}/root/proc/1/pagemap`).size).toBe(0);
    expect(fs.readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 120_000);
});
