// The FUSE mount on real containers: every operation and its errno, editor-style saves,
// concurrency, a 256 MiB round trip. (External commands over the session's mount: session.test.ts.)
import {execFileSync, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();
if (hasEngine && process.env['CI'] === 'true' && !fs.existsSync('/dev/fuse')) throw new Error('CI=true but /dev/fuse is missing');

const errno = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as {code: string}).code;
  }
};
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** 16 MiB of numbered lines: every offset holds different bytes from its neighbours. */
const BIG = Array.from({length: 1_700_000}, (_, i) => `${String(i).padStart(9, '0')}\n`).join('').slice(0, 16 << 20);

describe.runIf(hasEngine)('FUSE mount', () => {
  let fixture: Fixture;
  let c: string;
  let other: string;
  let stopped: string;
  let mnt: string;
  let C: string; // the container's directory in the mount

  beforeAll(() => {
    fixture = makeFixture('fuse', {
      'data/hello.txt': 'hello\n',
      'data/abs-link': {symlink: '/etc/passwd'},
      'data/sub/deep.txt': 'deep\n',
      'data/big.bin': BIG,
    });
    c = fixture.run('c');
    other = fixture.run('other');
    stopped = fixture.create('stopped');
    mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-mnt-'));
    const r = spawnSync(process.execPath, [dboxPath, 'mount', mnt], {encoding: 'utf8'});
    expect(r.stdout).toBe(`${mnt}\n`);
    C = path.join(mnt, c);
  });
  afterAll(() => {
    if (mnt) {
      spawnSync(process.execPath, [dboxPath, 'umount', mnt]);
      fs.rmSync(mnt, {recursive: true, force: true});
    }
    fixture?.cleanup();
  });

  it('lists the containers, running and stopped, as directories', () => {
    expect(fs.readdirSync(mnt)).toEqual(expect.arrayContaining([c, other, stopped]));
    // /hosts, as .hosts: the contexts, then each one's containers
    expect(fs.readdirSync(`${mnt}/.hosts`)).toContain('default');
    expect(fs.readdirSync(`${mnt}/.hosts/default`)).toEqual(expect.arrayContaining([c, stopped]));
    expect(fs.readFileSync(`${mnt}/.hosts/default/${c}/data/hello.txt`, 'utf8')).toBe('hello\n');
    expect(fs.statSync(C).isDirectory()).toBe(true);
  });

  it('reads files, directories with types, and links', () => {
    expect(fs.readFileSync(`${C}/data/hello.txt`, 'utf8')).toBe('hello\n');
    const types = Object.fromEntries(fs.readdirSync(`${C}/data`, {withFileTypes: true}).map((d) => [d.name, d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'link' : 'file']));
    expect(types).toEqual({'hello.txt': 'file', 'big.bin': 'file', 'abs-link': 'link', sub: 'dir'});
    expect(execFileSync('find', [`${C}/data`, '-type', 'f'], {encoding: 'utf8'}).trim().split('\n').sort()).toEqual(
      [`${C}/data/big.bin`, `${C}/data/hello.txt`, `${C}/data/sub/deep.txt`]);
  });

  it('presents absolute links relative to the container root, so they never reach the host', () => {
    expect(fs.readlinkSync(`${C}/data/abs-link`)).toBe('../etc/passwd');
    expect(fs.lstatSync(`${C}/data/abs-link`).size).toBe('../etc/passwd'.length);
    expect(fs.readFileSync(`${C}/data/abs-link`, 'utf8')).toContain('app:x:1000'); // the container's passwd
  });

  it("shows the container's own changes at once (the mount's caches are invalidated by inotify)", async () => {
    const seen = (): [string, string[], string] => [fs.readFileSync(`${C}/data/hello.txt`, 'utf8'), fs.readdirSync(`${C}/data/sub`),
      (fs.statSync(`${C}/data/sub/deep.txt`).mode & 0o777).toString(8)];
    expect(seen()).toEqual(['hello\n', ['deep.txt'], '644']); // now cached by the kernel
    docker('exec', c, 'sh', '-c', 'echo changed > /data/hello.txt; echo more >> /data/hello.txt; touch /data/sub/new; chmod 600 /data/sub/deep.txt');
    await new Promise((r) => setTimeout(r, 100)); // far below the cache time of 10 s
    expect(seen()).toEqual(['changed\nmore\n', ['deep.txt', 'new'].sort(), '600']);
    docker('exec', c, 'sh', '-c', 'rm /data/sub/new; echo hello > /data/hello.txt; chmod 644 /data/sub/deep.txt');
    await new Promise((r) => setTimeout(r, 100));
    expect(seen()).toEqual(['hello\n', ['deep.txt'], '644']);
  });

  it('keeps what readers cached coherent with writes through a write-only descriptor (direct I/O)', () => {
    const f = `${C}/tmp/coherent.txt`;
    fs.writeFileSync(f, 'aaaaaaaa');
    const reader = fs.openSync(f, 'r');
    const read = (): string => {
      const b = Buffer.alloc(8);
      fs.readSync(reader, b, 0, 8, 0);
      return b.toString();
    };
    expect(read()).toBe('aaaaaaaa'); // now in the page cache
    const writer = fs.openSync(f, fs.constants.O_WRONLY);
    fs.writeSync(writer, 'XY', 0, 'utf8');
    fs.writeSync(writer, 'Z', 6, 'utf8');
    fs.closeSync(writer);
    expect(read()).toBe('XYaaaaZa');
    fs.closeSync(reader);
    expect(docker('exec', c, 'cat', '/tmp/coherent.txt')).toBe('XYaaaaZa');
  });

  it('writes at offsets, appends, truncates, and creates as a local disk does', () => {
    const f = `${C}/tmp/w.txt`;
    fs.writeFileSync(f, '0123456789');
    const fd = fs.openSync(f, 'r+');
    fs.writeSync(fd, 'AB', 3);
    fs.ftruncateSync(fd, 8);
    fs.closeSync(fd);
    fs.appendFileSync(f, 'zz');
    expect(fs.readFileSync(f, 'utf8')).toBe('012AB567zz');
    fs.truncateSync(f, 2);
    expect(docker('exec', c, 'cat', '/tmp/w.txt')).toBe('01');
  });

  it('mkdir, rmdir, unlink, rename (replacing), symlink, link, chmod, chown, utimens, statfs, access', () => {
    const d = `${C}/tmp/ops`;
    fs.mkdirSync(d, 0o750);
    expect(fs.statSync(d).mode & 0o777).toBe(0o750);
    fs.writeFileSync(`${d}/a`, 'A');
    fs.writeFileSync(`${d}/b`, 'B');
    fs.renameSync(`${d}/a`, `${d}/b`);
    expect(fs.readFileSync(`${d}/b`, 'utf8')).toBe('A');
    fs.symlinkSync('b', `${d}/l`);
    expect(fs.readFileSync(`${d}/l`, 'utf8')).toBe('A');
    fs.linkSync(`${d}/b`, `${d}/h`);
    expect(fs.statSync(`${d}/b`).nlink).toBe(2);
    fs.chmodSync(`${d}/b`, 0o600);
    fs.chownSync(`${d}/b`, 1000, 1000);
    fs.utimesSync(`${d}/b`, 1000, 2_000_000);
    const st = fs.statSync(`${d}/b`);
    expect([st.mode & 0o777, st.uid, st.gid, st.mtimeMs]).toEqual([0o600, 1000, 1000, 2_000_000_000]);
    expect(docker('exec', c, 'stat', '-c', '%a %u %Y', '/tmp/ops/b')).toBe('600 1000 2000000');
    // touch -a / -m change one time and leave the other (UTIME_OMIT), plain touch sets now (UTIME_NOW).
    execFileSync('touch', ['-a', '-d', '2021-01-01 00:00:00Z', `${d}/b`]);
    execFileSync('touch', ['-m', '-d', '2019-05-05 00:00:00Z', `${d}/b`]);
    expect(docker('exec', c, 'stat', '-c', '%X %Y', '/tmp/ops/b')).toBe(`${Date.UTC(2021, 0, 1) / 1000} ${Date.UTC(2019, 4, 5) / 1000}`);
    execFileSync('touch', [`${d}/b`]);
    expect(Math.abs(Number(docker('exec', c, 'stat', '-c', '%Y', '/tmp/ops/b')) - Date.now() / 1000)).toBeLessThan(30);
    expect(fs.statfsSync(C).bsize).toBeGreaterThan(0);
    fs.accessSync(`${d}/b`, fs.constants.R_OK);
    expect(errno(() => fs.rmdirSync(d))).toBe('ENOTEMPTY');
    for (const n of ['b', 'l', 'h']) fs.unlinkSync(`${d}/${n}`);
    fs.rmdirSync(d);
    expect(errno(() => fs.statSync(d))).toBe('ENOENT');
  });

  it('returns the right errno', () => {
    expect(errno(() => fs.readFileSync(`${C}/nope`))).toBe('ENOENT');
    expect(errno(() => fs.readdirSync(`${C}/data/hello.txt`))).toBe('ENOTDIR');
    expect(errno(() => fs.writeFileSync(`${C}/data`, 'x'))).toBe('EISDIR');
    expect(errno(() => fs.mkdirSync(`${C}/data`))).toBe('EEXIST');
    expect(errno(() => fs.renameSync(`${C}/data/hello.txt`, `${mnt}/${other}/tmp/x`))).toBe('EXDEV');
    expect(errno(() => fs.readFileSync(`${mnt}/no-such-container/etc/hosts`))).toBe('ENOENT');
  });

  it('serves stopped containers through the engine: reads stream by range, changes are uploaded', () => {
    const S = path.join(mnt, stopped);
    expect(execFileSync('sh', ['-c', `head -c 12 ${S}/data/big.bin`], {encoding: 'utf8'})).toBe(BIG.slice(0, 12));
    expect(execFileSync('sh', ['-c', `tail -c 25 ${S}/data/big.bin`], {encoding: 'utf8'})).toBe(BIG.slice(-25));
    // Far from what has arrived: the range is asked for on its own, at any offset.
    const fd = fs.openSync(`${S}/data/big.bin`, 'r');
    for (const at of [(16 << 20) - 8, 9_999_999, 5_000_001, 12]) {
      const got = Buffer.alloc(8);
      expect(fs.readSync(fd, got, 0, 8, at)).toBe(8);
      expect(got.toString()).toBe(BIG.slice(at, at + 8));
    }
    fs.closeSync(fd);
    expect(fs.readFileSync(`${S}/data/sub/deep.txt`, 'utf8')).toBe('deep\n');
    // Changes: a new file, an append, a rewrite in place, mkdir, rename, chmod, unlink, as shell commands do them
    execFileSync('sh', ['-c', [`echo one > ${S}/tmp/x`, `echo two >> ${S}/tmp/x`, `printf H | dd of=${S}/data/hello.txt bs=1 conv=notrunc 2>/dev/null`,
      `mkdir ${S}/tmp/d`, `mv ${S}/tmp/x ${S}/tmp/d/y`, `chmod 600 ${S}/tmp/d/y`, `rm ${S}/data/sub/deep.txt`, `touch ${S}/tmp/t`].join(' && ')]);
    expect(fs.readFileSync(`${S}/tmp/d/y`, 'utf8')).toBe('one\ntwo\n');
    expect(errno(() => fs.unlinkSync(`${S}/data/sub`))).toBe('EISDIR');
    expect(errno(() => fs.renameSync(`${S}/tmp/d/y`, `${C}/tmp/y`))).toBe('EXDEV');
    docker('start', stopped);
    expect(docker('exec', stopped, 'sh', '-c', 'cat /tmp/d/y /data/hello.txt; stat -c %a /tmp/d/y')).toBe('one\ntwo\nHello\n600');
    expect(docker('exec', stopped, 'sh', '-c', 'ls -A /data/sub; ls /tmp/t /tmp/x 2>&1; true')).toBe('ls: /tmp/x: No such file or directory\n/tmp/t');
    docker('stop', '-t', '0', stopped);
  });

  it('close(2) of a file of a stopped container means written: the engine has the bytes when close returns', () => {
    const S = path.join(mnt, stopped);
    const inEngine = (p: string): string => execFileSync('sh', ['-c', `docker cp '${stopped}:${p}' - | tar -xOf -`], {encoding: 'utf8'});
    const before = inEngine('/data/hello.txt');
    // An append as a shell does it (O_APPEND, one write, close), and as tee -a does it.
    execFileSync('sh', ['-c', `echo first >> ${S}/data/hello.txt`]);
    expect(inEngine('/data/hello.txt')).toBe(`${before}first\n`);
    execFileSync('sh', ['-c', `echo second | tee -a ${S}/data/hello.txt >/dev/null`]);
    expect(inEngine('/data/hello.txt')).toBe(`${before}first\nsecond\n`);
    // A change made behind the mount right after that close is not undone by an upload arriving later.
    const local = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-close-')), 'hello.txt');
    fs.writeFileSync(local, before);
    execFileSync('docker', ['cp', local, `${stopped}:/data/hello.txt`]);
    fs.rmSync(path.dirname(local), {recursive: true});
    // Another open and close of the same file through the mount: whatever the first one left in flight is done by then.
    fs.closeSync(fs.openSync(`${S}/data/hello.txt`, 'r'));
    expect(inEngine('/data/hello.txt')).toBe(before);
  });

  it('an editor-style save (write a temporary, fsync, rename over) replaces the file', () => {
    const f = `${C}/tmp/edit.txt`;
    fs.writeFileSync(f, 'before\n');
    const tmp = `${C}/tmp/.edit.txt.swp`;
    const fd = fs.openSync(tmp, 'w', 0o644);
    fs.writeSync(fd, 'after\n');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, f);
    expect(docker('exec', c, 'cat', '/tmp/edit.txt')).toBe('after');
    expect(fs.readdirSync(`${C}/tmp`)).not.toContain('.edit.txt.swp');
  });

  it('serves concurrent readers and writers', async () => {
    const jobs = Array.from({length: 8}, (_, i) => (async () => {
      const data = Buffer.alloc(1 << 20, i);
      await fs.promises.writeFile(`${C}/tmp/conc${i}`, data);
      const back = await fs.promises.readFile(`${C}/tmp/conc${i}`);
      return back.equals(data);
    })());
    expect(await Promise.all(jobs)).toEqual(Array(8).fill(true));
  });

  it('reads and writes 256 MiB intact', () => {
    const data = Buffer.alloc(256 << 20);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
    fs.writeFileSync(`${C}/tmp/big`, data);
    expect(docker('exec', c, 'sha256sum', '/tmp/big').split(' ')[0]).toBe(sha(data));
    expect(sha(fs.readFileSync(`${C}/tmp/big`))).toBe(sha(data));
    fs.unlinkSync(`${C}/tmp/big`);
  });

  it('follows containers created and removed while mounted', async () => {
    const late = fixture.run('late');
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.readdirSync(mnt)).toContain(late);
    docker('rm', '-f', late);
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.readdirSync(mnt)).not.toContain(late);
  });
});
