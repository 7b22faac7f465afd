// The ContainerFs contract: the same cases against both drivers on one real container.
import {Readable} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {Engine} from '../../src/docker/engine.js';
import {EngineFs} from '../../src/vfs/engine-fs.js';
import {LocalFs} from '../../src/vfs/local-fs.js';
import {fileType, type ContainerFs} from '../../src/vfs/types.js';
import {docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();

async function text(fs: ContainerFs, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await fs.createReadStream(path)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: {code?: string}) => e.code ?? String(e));

/** 300,000 bytes in which every offset is different from its neighbours' (9 digits and a newline). */
const RANGES_TEXT = Array.from({length: 30_000}, (_, i) => `${String(i).padStart(9, '0')}\n`).join('');
const RANGES: [number, number | undefined][] = [[0, 10], [123_457, 65_536], [299_990, undefined], [299_995, 100], [400_000, 10], [5, 0], [1, undefined]];

async function rangesRead(fs: ContainerFs): Promise<string[]> {
  const out: string[] = [];
  for (const [offset, length] of RANGES) {
    const chunks: Buffer[] = [];
    for await (const c of await fs.createReadStream('/data/ranges.txt', {offset, length})) chunks.push(c as Buffer);
    out.push(Buffer.concat(chunks).toString());
  }
  return out;
}
const rangesExpected = RANGES.map(([offset, length]) => RANGES_TEXT.slice(offset, length === undefined ? undefined : offset + length));

describe.runIf(hasEngine)('ContainerFs contract', () => {
  let fixture: Fixture;
  let id: string;
  const drivers: Record<string, () => ContainerFs> = {};
  let local: LocalFs;

  beforeAll(() => {
    fixture = makeFixture('contract', {
      'data/hello.txt': 'hello\n',
      'data/sub/deep.txt': 'deep\n',
      'data/abs-link': {symlink: '/etc/passwd'},
      'data/rel-link': {symlink: '../data/hello.txt'},
      'data/dir-link': {symlink: '/data/sub'},
      'data/empty': {dir: true},
      'data/ranges.txt': RANGES_TEXT,
    });
    const name = fixture.run('c');
    id = docker('inspect', '-f', '{{.Id}}', name);
    const pid = docker('inspect', '-f', '{{.State.Pid}}', name);
    local = LocalFs.open(`/proc/${pid}/root`);
    const engine = new Engine();
    drivers['local'] = () => local;
    drivers['engine'] = () => new EngineFs(engine, id);
  });
  afterAll(() => {
    local?.close();
    fixture?.cleanup();
  });

  describe.each(['local', 'engine'])('%s driver', (driver) => {
    const fs = (): ContainerFs => drivers[driver]!();

    it('stats files and directories', async () => {
      const st = await fs().stat('/data/hello.txt');
      expect(fileType(st.mode)).toBe('file');
      expect(st.size).toBe(6);
      expect(fileType((await fs().stat('/data/sub')).mode)).toBe('dir');
    });

    it('lstat sees links, stat follows them inside the container', async () => {
      expect(fileType((await fs().lstat('/data/abs-link')).mode)).toBe('symlink');
      expect(fileType((await fs().stat('/data/dir-link')).mode)).toBe('dir');
      expect(await fs().readlink('/data/abs-link')).toBe('/etc/passwd');
    });

    it('an absolute link reads the container file, not the host one', async () => {
      const passwd = await text(fs(), '/data/abs-link');
      expect(passwd).toContain('app:x:1000');
      expect(await text(fs(), '/data/rel-link')).toBe('hello\n');
      expect(await text(fs(), '/data/dir-link/deep.txt')).toBe('deep\n');
    });

    it('lists a directory with types', async () => {
      const entries = await fs().readdir('/data');
      const types = Object.fromEntries(entries.map((e) => [e.name, e.type]));
      expect(types).toEqual({'ranges.txt': 'file', 'hello.txt': 'file', sub: 'dir', 'abs-link': 'symlink', 'rel-link': 'symlink',
        'dir-link': 'symlink', empty: 'dir'});
      expect(await fs().readdir('/data/empty')).toEqual([]);
    });

    it('reports errno codes', async () => {
      expect(await code(fs().stat('/data/nope'))).toBe('ENOENT');
      expect(await code(fs().readdir('/data/hello.txt'))).toBe('ENOTDIR');
      expect(await code(fs().createReadStream('/data/sub'))).toBe('EISDIR');
      expect(await code(fs().readlink('/data/hello.txt'))).toBe('EINVAL');
    });

    it('creates files, directories and links', async () => {
      await fs().mkdir(`/tmp/${driver}-dir`, 0o750);
      await fs().writeFile(`/tmp/${driver}-dir/new.txt`, Readable.from([Buffer.from('new data')]), {mode: 0o640, size: 8});
      expect(await text(fs(), `/tmp/${driver}-dir/new.txt`)).toBe('new data');
      expect((await fs().stat(`/tmp/${driver}-dir/new.txt`)).mode & 0o777).toBe(0o640);
      await fs().symlink('new.txt', `/tmp/${driver}-dir/ln`);
      expect(await text(fs(), `/tmp/${driver}-dir/ln`)).toBe('new data');
      expect(await code(fs().mkdir(`/tmp/${driver}-dir`))).toBe('EEXIST');
      expect(docker('exec', fixture.containers[0]!, 'cat', `/tmp/${driver}-dir/new.txt`)).toBe('new data');
    });
  });

  describe.each(['local', 'engine'])('%s driver: changes', (driver) => {
    // The engine driver changes a running container through exec (its own rm, mv, chmod…).
    const fs = (): ContainerFs => (driver === 'local' ? local : new EngineFs(new Engine(), id, true));
    const dir = `/tmp/changes-${driver}`;

    it('rename (replacing, or not), chmod, chown, utimes, truncate, unlink, link, remove', async () => {
      const f = fs();
      await f.mkdir(dir);
      await f.writeFile(`${dir}/m.txt`, Readable.from([Buffer.from('0123456789')]), {mode: 0o600, size: 10});
      await f.rename(`${dir}/m.txt`, `${dir}/n.txt`);
      expect(await code(f.stat(`${dir}/m.txt`))).toBe('ENOENT');
      await f.chmod(`${dir}/n.txt`, 0o604);
      await f.chown(`${dir}/n.txt`, 1000, 1000, false);
      await f.truncate(`${dir}/n.txt`, 4);
      await f.utimes(`${dir}/n.txt`, {sec: 1000, nsec: 0}, {sec: 2000, nsec: 0}, false);
      const st = await (driver === 'local' ? f.stat(`${dir}/n.txt`) : f.readdir(dir).then((e) => e.find((x) => x.name === 'n.txt')!.stat!));
      expect([st.mode & 0o777, st.uid, st.gid, st.mtime.sec, st.size]).toEqual([0o604, 1000, 1000, 2000, 4]);
      await f.writeFile(`${dir}/o.txt`, Readable.from([Buffer.from('x')]), {mode: 0o600, size: 1});
      expect(await code(f.rename(`${dir}/n.txt`, `${dir}/o.txt`, true))).toBe('EEXIST');
      await f.rename(`${dir}/n.txt`, `${dir}/o.txt`);
      expect(await text(f, `${dir}/o.txt`)).toBe('0123');
      await f.link(`${dir}/o.txt`, `${dir}/hard.txt`);
      expect(await text(f, `${dir}/hard.txt`)).toBe('0123');
      await f.unlink(`${dir}/hard.txt`);
      expect(await code(f.unlink(`${dir}/nope`))).toBe('ENOENT');
      expect(await code(f.unlink(dir))).toBe('EISDIR');
      await f.mkdir(`${dir}/a`);
      await f.symlink('/', `${dir}/a/root-link`);
      expect(await code(f.rmdir(dir))).toBe('ENOTEMPTY');
      await f.remove(dir);
      expect(await code(f.stat(dir))).toBe('ENOENT');
      expect((await f.statfs('/')).bsize).toBeGreaterThan(0);
    });
  });

  it('engine: a stopped container takes every change through the archive API alone', async () => {
    const stopped = fixture.create('stopped-changes');
    const stoppedId = docker('inspect', '-f', '{{.Id}}', stopped);
    const f = new EngineFs(new Engine(), stoppedId, false);
    const fresh = (): EngineFs => new EngineFs(new Engine(), stoppedId, false);
    await f.writeFile('/tmp/new.txt', Readable.from([Buffer.from('n')]), {mode: 0o644, size: 1});
    expect(await text(f, '/tmp/new.txt')).toBe('n');
    await f.chown('/data/hello.txt', 1000, 1000, true);
    await f.chmod('/data/rel-link', 0o600); // follows the link to hello.txt
    await f.chmod('/data/sub', 0o710);
    await f.writeFile('/tmp/zero', Readable.from([Buffer.from('z')]), {mode: 0o644, size: 1});
    await f.chmod('/tmp/zero', 0);
    expect((await f.lstat('/tmp/zero')).mode).toBe(0o100000); // chmod 000 stays 000
    const entries = new Map((await fresh().readdir('/data')).map((e) => [e.name, e.stat!]));
    expect(entries.get('hello.txt')).toMatchObject({mode: 0o100600, uid: 1000, gid: 1000, size: 6});
    expect(entries.get('sub')!.mode).toBe(0o040710);
    expect(await text(f, '/data/hello.txt')).toBe('hello\n');
    expect((await f.readdir('/data/sub')).map((e) => e.name)).toEqual(['deep.txt']);
    // rename: a file (replacing another), a tree (into an empty directory), and the errors
    await f.writeFile('/tmp/old.txt', Readable.from([Buffer.from('old')]), {mode: 0o644, size: 3});
    await f.rename('/data/hello.txt', '/tmp/old.txt');
    expect(await text(f, '/tmp/old.txt')).toBe('hello\n');
    expect(await code(f.lstat('/data/hello.txt'))).toBe('ENOENT');
    expect(await code(f.rename('/data/sub', '/tmp/old.txt'))).toBe('ENOTDIR');
    await f.rename('/data/sub', '/data/empty');
    expect(await text(f, '/data/empty/deep.txt')).toBe('deep\n');
    expect(await code(f.lstat('/data/sub'))).toBe('ENOENT');
    expect(await code(f.rename('/data', '/data/empty/x'))).toBe('EINVAL');
    // link, truncate, unlink (a file of the image, under a whiteout), rmdir, remove
    await f.link('/tmp/old.txt', '/data/hard');
    expect(await text(f, '/data/hard')).toBe('hello\n');
    await f.truncate('/data/hard', 2);
    expect(await text(f, '/data/hard')).toBe('he');
    await f.unlink('/etc/group');
    expect(await code(f.lstat('/etc/group'))).toBe('ENOENT');
    expect(await code(f.rmdir('/data/empty'))).toBe('ENOTEMPTY');
    await f.unlink('/data/empty/deep.txt');
    await f.rmdir('/data/empty');
    await f.remove('/data');
    expect(await code(f.lstat('/data'))).toBe('ENOENT');
    await f.remove('/data'); // rm -f: nothing there is no error
    await f.utimes('/tmp/old.txt', {sec: 1_000_000_000, nsec: 0}, {sec: 1_000_000_000, nsec: 0}, true);
    expect((await f.lstat('/tmp/old.txt')).mtime.sec).toBe(1_000_000_000);
    // what the container sees when it starts
    docker('start', stopped);
    expect(docker('exec', stopped, 'sh', '-c', 'cat /tmp/old.txt; ls -a /data /etc/group 2>&1; true')).toMatch(/^hello\n.*No such file.*No such file/s);
  });

  it('reads byte ranges: local, engine by archive (stopped, or no sh), engine by tail|head in the container', async () => {
    const engine = new Engine();
    expect(await rangesRead(local)).toEqual(rangesExpected);
    const stopped = docker('inspect', '-f', '{{.Id}}', fixture.create('stopped-ranges'));
    expect(await rangesRead(new EngineFs(engine, stopped, false))).toEqual(rangesExpected);
    // The engine's events tell which way each range came: exec_start (tail|head) or archive-path (GET).
    const actions = async (container: string, read: () => Promise<unknown>): Promise<string[]> => {
      const since = (Date.now() / 1000).toFixed(3);
      await read();
      const until = (Date.now() / 1000 + 1).toFixed(3);
      return docker('events', '--since', since, '--until', until, '--filter', `container=${container}`, '--format', '{{.Action}}')
        .split('\n').map((a) => a.split(':')[0]!).filter((a) => a === 'exec_start' || a === 'archive-path');
    };
    const count = (list: string[], action: string): number => list.filter((a) => a === action).length;
    const nonEmpty = RANGES.filter(([, length]) => length !== 0).length;
    let ways = await actions(id, async () => expect(await rangesRead(new EngineFs(engine, id, true))).toEqual(rangesExpected));
    expect(count(ways, 'archive-path')).toBe(1); // offset 0 is a plain GET
    expect(count(ways, 'exec_start')).toBe(nonEmpty - 1);
    const noShell = docker('inspect', '-f', '{{.Id}}', fixture.run('no-sh-ranges'));
    docker('exec', noShell, 'rm', '/bin/sh');
    ways = await actions(noShell, async () => expect(await rangesRead(new EngineFs(engine, noShell, true))).toEqual(rangesExpected));
    expect(count(ways, 'archive-path')).toBe(nonEmpty);
  });

  it('engine: a listing is reused for a second, then made again (the mount lives long)', async () => {
    const f = new EngineFs(new Engine(), id, true, 1000);
    const names = async (): Promise<string[]> => (await f.readdir('/data/empty')).map((e) => e.name);
    expect(await names()).toEqual([]);
    docker('exec', id, 'touch', '/data/empty/later');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await names()).toEqual(['later']);
    docker('exec', id, 'rm', '/data/empty/later');
  });

  it('engine: a command line\'s filesystem keeps a listing for its life (one walk, one consistent listing)', async () => {
    const f = new EngineFs(new Engine(), id, true);
    const names = async (): Promise<string[]> => (await f.readdir('/data/empty')).map((e) => e.name);
    expect(await names()).toEqual([]);
    docker('exec', id, 'touch', '/data/empty/later');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await names()).toEqual([]);
    // A change made through it is seen at once.
    await f.unlink('/data/empty/later');
    await f.mkdir('/data/empty/made');
    expect(await names()).toEqual(['made']);
    await f.rmdir('/data/empty/made');
  });

  it('engine: a removed container is named as the cause', async () => {
    const gone = fixture.create('gone');
    const fs = new EngineFs(new Engine(), docker('inspect', '-f', '{{.Id}}', gone));
    docker('rm', '-f', gone);
    await expect(fs.stat('/data/hello.txt')).rejects.toThrow('/data/hello.txt: No such file or directory (the container was removed)');
  });

  it('engine: serves a stopped container', async () => {
    const stopped = fixture.create('stopped');
    const fs = new EngineFs(new Engine(), docker('inspect', '-f', '{{.Id}}', stopped));
    expect(await text(fs, '/data/hello.txt')).toBe('hello\n');
    expect((await fs.readdir('/data/sub')).map((e) => e.name)).toEqual(['deep.txt']);
  });
});
