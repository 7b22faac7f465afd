// A container's symlinks never lead out of its directory in the mount (issue 10, finding 1), on
// both servers: dbox-fuse (running local containers), fuse-native alone (DBOX_FUSE=node), and
// fuse-native behind dbox-fuse (a stopped container, served through the engine).
//
// The kernel follows a link on the reader's side, from the directory the reader used. So each
// case below reads, appends, cds and touches through links planted by the container, and then
// asserts that the host's canary directory kept every byte, mode and time, and that every link
// resolves (realpath, by the kernel) inside the container's directory of the mount.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {dbox, dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();

/** Every entry below dir with content, mode and mtime, never following a link. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel))) {
      const p = path.join(rel, name);
      const st = fs.lstatSync(path.join(dir, p));
      out[p] = `${st.mode.toString(8)} ${st.mtimeMs} ${st.isFile() ? fs.readFileSync(path.join(dir, p), 'utf8') : ''}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

/** Whether `p` is `dir` or below it. */
const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);

const mount = (env: NodeJS.ProcessEnv = {}): string => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-esc-'));
  const r = spawnSync(process.execPath, [dboxPath, 'mount', mnt], {encoding: 'utf8', env: {...process.env, ...env}});
  if (r.stdout !== `${mnt}\n`) throw new Error(`dbox mount: ${r.stderr}`);
  return mnt;
};
const unmount = (mnt: string): void => {
  spawnSync(process.execPath, [dboxPath, 'umount', mnt]);
  fs.rmSync(mnt, {recursive: true, force: true});
};

describe.runIf(hasEngine)('no symlink of a container leads out of the mount', () => {
  let fixture: Fixture;
  let running: string;
  let stopped: string;
  let vol: string;
  let twoDepths: string;
  const mounts: string[] = [];
  // A host-only directory at a path the container holds too (with its own copy).
  const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-canary-'));
  const hostRel = hostDir.slice(1);
  const up = (n: number): string => '../'.repeat(n);
  let before: Record<string, string>;

  // name -> target: relative chains at every depth, a..b/.. tricks, absolute, links through links.
  const links: Record<string, string> = {
    'data/rel': `${up(12)}${hostRel}/secret.txt`,
    'data/rel-dir': `${up(12)}${hostRel}`,
    'data/abs': `/${hostRel}/secret.txt`,
    'data/tricky': `x/${up(14)}${hostRel}/secret.txt`,
    'data/dots': `./.././/../../.././../../../../..//${hostRel}/./secret.txt`,
    'data/to-root': '/',
    'data/through-root': `to-root/${up(12)}${hostRel}/secret.txt`,
    'data/through-rel-dir': `rel-dir/${up(6)}${hostRel}/secret.txt`,
    'top-rel': `${up(10)}${hostRel}/secret.txt`,
    'd1/d2/d3/d4/d5/d6/deep-rel': `${up(20)}${hostRel}/secret.txt`,
    'd1/d2/d3/d4/d5/d6/deep-dir': `${up(20)}${hostRel}`,
  };
  for (let d = 1; d <= 6; d++) links[`${'d1/d2/d3/d4/d5/d6'.split('/').slice(0, d).join('/')}/at${d}`] = `${up(d + 5)}${hostRel}/secret.txt`;

  beforeAll(() => {
    fs.writeFileSync(path.join(hostDir, 'secret.txt'), 'HOST SECRET\n');
    fs.chmodSync(path.join(hostDir, 'secret.txt'), 0o640);
    fs.mkdirSync(path.join(hostDir, 'sub'));
    fixture = makeFixture('escape', {
      ...Object.fromEntries(Object.entries(links).map(([p, t]) => [p, {symlink: t}])),
      'data/x': {dir: true},
      [`${hostRel}/secret.txt`]: 'container copy\n',
      'etc/marker': 'container marker\n',
    });
    running = fixture.run('run');
    stopped = fixture.create('stopped');
    // One volume mounted at depths 1 and 5 of a container: the same link reached at two depths.
    vol = `dbox-esc-vol-${process.pid}`;
    docker('volume', 'create', vol);
    twoDepths = fixture.run('vol', '-v', `${vol}:/a`, '-v', `${vol}:/b/c/d/e`);
    // The volume's link is right for /b/c/d/e/l (4 levels up is the container's root); read at
    // /a/l with that many ../ it would climb out of the mount. Likewise a symlink hard-linked at
    // depths 5 and 1.
    docker('exec', twoDepths, 'sh', '-c', `ln -s ${up(4)}${hostRel}/secret.txt /a/l && mkdir -p /h1/h2/h3/h4 && `
      + `ln -s ${up(4)}${hostRel}/secret.txt /h1/h2/h3/h4/hl && ln /h1/h2/h3/h4/hl /hl`);
    // The third: dbox-fuse without inotify (as when the kernel's watches run out), where nothing
    // but the server itself keeps the kernel from using what it cached at an old depth.
    mounts.push(mount(), mount({DBOX_FUSE: 'node'}), mount({DBOX_FUSE_INOTIFY: 'off'}));
    before = snapshot(hostDir);
  });
  // The container's own copy of the canary, as each case expects to find it.
  beforeEach(() => {
    if (running) docker('exec', running, 'sh', '-c', `echo 'container copy' > /${hostRel}/secret.txt; rm -rf /${hostRel}/made /${hostRel}/planted*`);
  });
  afterAll(() => {
    for (const m of mounts) unmount(m);
    fixture?.cleanup();
    if (vol) spawnSync('docker', ['volume', 'rm', '-f', vol], {stdio: 'ignore'});
    fs.rmSync(hostDir, {recursive: true, force: true});
  });

  const servers = (): [string, string, string][] => [
    ['dbox-fuse, running container', mounts[0]!, running],
    ['fuse-native alone, running container', mounts[1]!, running],
    ['fuse-native behind dbox-fuse, stopped container', mounts[0]!, stopped],
    ['fuse-native alone, stopped container', mounts[1]!, stopped],
  ];

  it.each([0, 1, 2, 3])('every link resolves inside the container, reads read the container (server %i)', (i) => {
    const [, mnt, name] = servers()[i]!;
    const C = path.join(mnt, name);
    for (const link of Object.keys(links)) {
      const presented = fs.readlinkSync(path.join(C, link));
      const depth = link.split('/').length;
      expect(presented.match(/^(\.\.\/)*/)![0].length / 3, `${link} -> ${presented}`).toBeLessThanOrEqual(depth - 1);
      let real: string;
      try {
        real = fs.realpathSync(path.join(C, link));
      } catch (e) {
        expect((e as {code: string}).code, link).toBe('ENOENT');
        continue;
      }
      expect(inside(real, C), `${link} -> ${presented} resolves to ${real}`).toBe(true);
    }
    for (const link of ['data/rel', 'data/abs', 'data/tricky', 'data/dots', 'data/through-root', 'top-rel', 'd1/d2/d3/d4/d5/d6/deep-rel', 'd1/at1', 'd1/d2/d3/at3']) {
      expect(fs.readFileSync(path.join(C, link), 'utf8'), link).toBe('container copy\n');
    }
    expect(fs.readdirSync(path.join(C, 'data/rel-dir'))).toEqual(['secret.txt']);
    expect(snapshot(hostDir)).toEqual(before);
  });

  it.each([0, 1])('appends, cd + touch and writes through links change the container only (server %i)', (i) => {
    const [, mnt, name] = servers()[i]!;
    const C = path.join(mnt, name);
    fs.appendFileSync(path.join(C, 'data/rel'), 'appended\n');
    execFileSync('sh', ['-c', `echo more >> ${C}/data/dots`]);
    execFileSync('sh', ['-c', `cd ${C}/data/rel-dir && touch planted && /bin/ls > /dev/null && mkdir -p made`]);
    execFileSync('sh', ['-c', `cd ${C}/d1/d2/d3/d4/d5/d6/deep-dir && touch planted-deep`]);
    expect(snapshot(hostDir)).toEqual(before);
    expect(docker('exec', running, 'sh', '-c', `cat /${hostRel}/secret.txt; ls /${hostRel}`)).toBe(
      'container copy\nappended\nmore\nmade\nplanted\nplanted-deep\nsecret.txt');
  });

  it('a link reached at two depths (a volume mounted twice, a hard-linked symlink) is presented for each', () => {
    const C = path.join(mounts[0]!, twoDepths);
    // The deep path first: a server that keys its nodes by inode alone keeps that depth.
    for (const [deep, shallow] of [['b/c/d/e/l', 'a/l'], ['h1/h2/h3/h4/hl', 'hl']] as const) {
      expect(fs.readFileSync(path.join(C, deep), 'utf8')).toBe('container copy\n');
      expect(fs.readlinkSync(path.join(C, deep))).toBe(`${up(4)}${hostRel}/secret.txt`);
      const presented = fs.readlinkSync(path.join(C, shallow));
      expect(presented).toBe(`${up(shallow.split('/').length - 1)}${hostRel}/secret.txt`);
      expect(fs.readFileSync(path.join(C, shallow), 'utf8')).toBe('container copy\n');
      expect(inside(fs.realpathSync(path.join(C, shallow)), C)).toBe(true);
      // And the other way round, after the kernel forgot both.
      spawnSync('sh', ['-c', 'echo 2 > /proc/sys/vm/drop_caches']);
      expect(fs.readFileSync(path.join(C, shallow), 'utf8')).toBe('container copy\n');
      expect(fs.readlinkSync(path.join(C, deep))).toBe(`${up(4)}${hostRel}/secret.txt`);
    }
    expect(snapshot(hostDir)).toEqual(before);
  });

  it.each([0, 2])('a directory or link moved through the mount to another depth does not carry its links out (mount %i)', (i) => {
    const C = path.join(mounts[i]!, running);
    docker('exec', running, 'sh', '-c', `rm -rf /m1 /moved /alone; mkdir -p /m1/m2/m3/m4/moved && ln -s ${up(5)}${hostRel}/secret.txt /m1/m2/m3/m4/moved/l`);
    expect(fs.readFileSync(`${C}/m1/m2/m3/m4/moved/l`, 'utf8')).toBe('container copy\n'); // known to the kernel at depth 6
    execFileSync('mv', [`${C}/m1/m2/m3/m4/moved`, `${C}/moved`]);
    expect(fs.readlinkSync(`${C}/moved/l`)).toBe(`../${hostRel}/secret.txt`);
    expect(fs.readFileSync(`${C}/moved/l`, 'utf8')).toBe('container copy\n');
    expect(inside(fs.realpathSync(`${C}/moved/l`), C)).toBe(true);
    expect(docker('exec', running, 'sh', '-c', 'ls /moved; ls /m1/m2/m3/m4')).toBe('l');
    // A symlink moved on its own, too.
    docker('exec', running, 'sh', '-c', `ln -s ${up(5)}${hostRel}/secret.txt /m1/m2/m3/m4/alone`);
    expect(fs.readFileSync(`${C}/m1/m2/m3/m4/alone`, 'utf8')).toBe('container copy\n');
    execFileSync('mv', [`${C}/m1/m2/m3/m4/alone`, `${C}/alone`]);
    expect(fs.readlinkSync(`${C}/alone`)).toBe(`${hostRel}/secret.txt`);
    expect(fs.readFileSync(`${C}/alone`, 'utf8')).toBe('container copy\n');
    expect(inside(fs.realpathSync(`${C}/alone`), C)).toBe(true);
    // A regular file moves as a rename (no copy): its inode stays.
    docker('exec', running, 'sh', '-c', 'echo f > /m1/m2/m3/m4/file');
    const ino = docker('exec', running, 'stat', '-c', '%i', '/m1/m2/m3/m4/file');
    fs.renameSync(`${C}/m1/m2/m3/m4/file`, `${C}/file`);
    expect(docker('exec', running, 'sh', '-c', 'stat -c %i /file; rm /file')).toBe(ino);
    expect(snapshot(hostDir)).toEqual(before);
  });

  it('external commands of `dbox -c` (the background mount) read, append and touch the container only', () => {
    const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-esc-run-'));
    try {
      const env = {XDG_RUNTIME_DIR: runtime};
      expect(dbox(`head -1 /containers/${running}/data/rel`, {env}).stdout).toBe('container copy\n');
      expect(dbox(`echo x >> /containers/${running}/data/rel; cat /containers/${running}/d1/d2/d3/d4/d5/d6/deep-rel`, {env}).stdout).toBe('container copy\nx\n');
      expect(dbox(`cd /containers/${running}/data/rel-dir && touch planted && /bin/ls`, {env}).stdout).toBe('planted\nsecret.txt\n');
      expect(snapshot(hostDir)).toEqual(before);
      expect(docker('exec', running, 'ls', `/${hostRel}`)).toBe('planted\nsecret.txt');
    } finally {
      fs.rmSync(runtime, {recursive: true, force: true});
    }
  });
});
