// The mount survives real trees (issue 11, item 5): a walk of 200,000 entries leaves it healthy
// with dbox-fuse's descriptors bounded (it kept one per known inode, and died at RLIMIT_NOFILE),
// and `find` at a container root sees no filesystem loops (sub-mounts share the mount's st_dev,
// and their small inode numbers collided). DBOX_SCALE_ENTRIES sets the size (for a measurement of
// 1,000,000, reported in the README; not a CI case, for time).
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();
const ENTRIES = Number(process.env['DBOX_SCALE_ENTRIES'] ?? 200_000);
const PER_DIR = 1000;

/** dbox-fuse's descriptors, and its soft limit on them. */
function descriptors(pid: number): {count: number; limit: number} {
  const limit = Number(/Max open files\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'))![1]);
  return {count: fs.readdirSync(`/proc/${pid}/fd`).length, limit};
}

describe.runIf(hasEngine)('the mount at scale', () => {
  let fixture: Fixture;
  let c: string;
  let mnt: string;
  let fuse: number;

  beforeAll(() => {
    fixture = makeFixture('scale');
    c = fixture.run('c');
    // The entries, made by the container itself: ENTRIES / PER_DIR directories of PER_DIR files.
    docker('exec', c, 'sh', '-c', `mkdir /w && cd /w && for d in $(busybox seq 1 ${ENTRIES / PER_DIR}); do `
      + `mkdir $d && cd $d && busybox seq 1 ${PER_DIR} | busybox xargs touch && cd ..; done`);
    mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-scale-'));
    const r = spawnSync(process.execPath, [dboxPath, 'mount', mnt], {encoding: 'utf8'});
    expect(r.stdout).toBe(`${mnt}\n`);
    fuse = Number(execFileSync('pgrep', ['-f', `dbox-fuse ${mnt}$`], {encoding: 'utf8'}).trim());
  }, 600_000);
  afterAll(() => {
    if (mnt) {
      spawnSync(process.execPath, [dboxPath, 'umount', mnt]);
      fs.rmSync(mnt, {recursive: true, force: true});
    }
    fixture?.cleanup();
  });

  it(`walks ${ENTRIES.toLocaleString('en')} entries and stays healthy with its descriptors bounded`, () => {
    const t = process.hrtime.bigint();
    const count = Number(execFileSync('sh', ['-c', `find ${mnt}/${c}/w | wc -l`], {encoding: 'utf8'}).trim());
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    expect(count).toBe(ENTRIES + ENTRIES / PER_DIR + 1);
    const {count: fds, limit} = descriptors(fuse);
    // At most half the limit for nodes (or DBOX_FUSE_MAX_FDS), plus libfuse's own and a few roots.
    expect(fds).toBeLessThanOrEqual(Math.min(65536, limit / 2) + 128);
    // Still healthy: a second walk (every node evicted once is opened again), a read, a write.
    const t2 = process.hrtime.bigint();
    expect(execFileSync('sh', ['-c', `ls -l ${mnt}/${c}/w/1 | wc -l; du -s ${mnt}/${c}/w > /dev/null; echo ok`], {encoding: 'utf8'})).toBe(`${PER_DIR + 1}\nok\n`);
    const ms2 = Number(process.hrtime.bigint() - t2) / 1e6;
    fs.writeFileSync(`${mnt}/${c}/w/1/1`, 'written\n');
    expect(docker('exec', c, 'cat', '/w/1/1')).toBe('written');
    expect(fs.readFileSync(`${mnt}/${c}/etc/passwd`, 'utf8')).toContain('root:');
    expect(descriptors(fuse).count).toBeLessThanOrEqual(Math.min(65536, limit / 2) + 128);
    process.stderr.write(`scale: find of ${count} entries ${ms.toFixed(0)} ms, ls -l + du -s ${ms2.toFixed(0)} ms, `
      + `dbox-fuse fds ${fds} (limit ${limit}), rss ${/VmRSS:\s+(\d+ kB)/.exec(fs.readFileSync(`/proc/${fuse}/status`, 'utf8'))![1]}\n`);
  }, 600_000);

  it('find at a container root reports no filesystem loop (proc, sysfs, devpts, cgroup share one st_dev)', () => {
    const r = spawnSync('find', [`${mnt}/${c}`, '-path', `${mnt}/${c}/w`, '-prune', '-o', '-print'], {encoding: 'utf8', maxBuffer: 1 << 28});
    expect(r.stderr).not.toMatch(/loop/i);
    for (const sub of ['proc', 'sys', 'dev/pts', 'sys/fs/cgroup', 'dev']) {
      expect(r.stdout).toContain(`${mnt}/${c}/${sub}\n`);
    }
    const inos = ['proc', 'sys', 'dev', 'dev/pts', 'sys/fs/cgroup', '.'].map((p) => fs.statSync(`${mnt}/${c}/${p}`, {bigint: true}).ino);
    expect(new Set(inos).size).toBe(inos.length);
  }, 300_000);
});
