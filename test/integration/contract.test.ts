// The ContainerFs contract: the same cases against both drivers on one real container.
import {Readable} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {Engine} from '../../src/docker/engine.js';
import {EngineFs} from '../../src/vfs/engine-fs.js';
import {LocalFs} from '../../src/vfs/local-fs.js';
import type {ContainerFs} from '../../src/vfs/types.js';
import {changeCases, code, CONTRACT_FILES, engineCat, fileCases, RANGES, rangesExpected, rangesRead, text} from './contract-cases.js';
import {docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {actionsDuring} from './wait.js';

const hasEngine = requireEngine();

describe.runIf(hasEngine)('ContainerFs contract', () => {
  let fixture: Fixture;
  let id: string;
  const drivers: Record<string, () => ContainerFs> = {};
  let local: LocalFs;

  beforeAll(() => {
    fixture = makeFixture('contract', CONTRACT_FILES);
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
    fileCases({driver, fs: () => drivers[driver]!(), cat: (path) => engineCat(fixture.containers[0]!, path)});
  });

  describe.each(['local', 'engine'])('%s driver: changes', (driver) => {
    // The engine driver changes a running container through exec (its own rm, mv, chmod…), and
    // its most exact attributes are those of a listing.
    changeCases({driver, fs: () => (driver === 'local' ? local : new EngineFs(new Engine(), id, true)), cat: (path) => engineCat(fixture.containers[0]!, path)},
      driver === 'local' ? undefined : (f, dir, name) => f.readdir(dir).then((e) => e.find((x) => x.name === name)!.stat!));
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
    const actions = async (container: string, read: () => Promise<unknown>): Promise<string[]> =>
      (await actionsDuring(container, read)).filter((a) => a === 'exec_start' || a === 'archive-path');
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
