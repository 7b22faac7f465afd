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
      expect(types).toEqual({'hello.txt': 'file', sub: 'dir', 'abs-link': 'symlink', 'rel-link': 'symlink',
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

  it('local: rename, chmod, chown, utimes, truncate, unlink, remove', async () => {
    await local.writeFile('/tmp/m.txt', Readable.from([Buffer.from('0123456789')]), {mode: 0o600});
    await local.rename('/tmp/m.txt', '/tmp/n.txt');
    expect(await code(local.stat('/tmp/m.txt'))).toBe('ENOENT');
    await local.chmod('/tmp/n.txt', 0o604);
    await local.chown('/tmp/n.txt', 1000, 1000, false);
    await local.truncate('/tmp/n.txt', 4);
    await local.utimes('/tmp/n.txt', {sec: 1000, nsec: 5}, {sec: 2000, nsec: 7}, false);
    const st = await local.stat('/tmp/n.txt');
    expect([st.mode & 0o777, st.uid, st.gid, st.mtime.sec, st.mtime.nsec, st.size]).toEqual([0o604, 1000, 1000, 2000, 7, 4]);
    await local.writeFile('/tmp/o.txt', Readable.from([Buffer.from('x')]), {mode: 0o600});
    expect(await code(local.rename('/tmp/n.txt', '/tmp/o.txt', true))).toBe('EEXIST');
    await local.unlink('/tmp/n.txt');
    await local.mkdir('/tmp/tree');
    await local.mkdir('/tmp/tree/a');
    await local.symlink('/', '/tmp/tree/a/root-link');
    expect(await code(local.rmdir('/tmp/tree'))).toBe('ENOTEMPTY');
    await local.remove('/tmp/tree');
    expect(await code(local.stat('/tmp/tree'))).toBe('ENOENT');
    expect((await local.statfs('/')).bsize).toBeGreaterThan(0);
  });

  it('engine: changes it cannot make are EROFS, not silent', async () => {
    const fs = drivers['engine']!();
    expect(await code(fs.unlink('/data/hello.txt'))).toBe('EROFS');
    expect(await code(fs.rename('/data/hello.txt', '/data/x'))).toBe('EROFS');
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
