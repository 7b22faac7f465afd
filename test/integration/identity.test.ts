// Process identity: a pid from an engine is used only once proven to be that container's process.
import fs from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {native} from '../../src/native.js';
import {docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {until} from './wait.js';

const hasEngine = requireEngine();

const failsWith = (f: () => unknown): string | undefined => {
  try {
    const fd = f();
    if (typeof fd === 'number') fs.closeSync(fd);
    return undefined;
  } catch (error) {
    return (error as {code?: string}).code;
  }
};

describe.runIf(hasEngine)('process identity', () => {
  let fixture: Fixture;
  let a: {id: string; pid: number};
  let b: {id: string; pid: number};

  beforeAll(() => {
    fixture = makeFixture('identity', {'data/mark': 'A\n'});
    const info = (name: string): {id: string; pid: number} => {
      const [id, pid] = docker('inspect', '-f', '{{.Id}} {{.State.Pid}}', name).split(' ');
      return {id: id!, pid: Number(pid)};
    };
    a = info(fixture.run('ida'));
    b = info(fixture.run('idb'));
  });
  afterAll(() => fixture?.cleanup());

  it("opens a container's root when its pid is its own process", () => {
    const root = native().openContainerRoot(a.pid, a.id);
    try {
      expect(fs.readFileSync(`/proc/self/fd/${root}/data/mark`, 'utf8')).toBe('A\n');
    } finally {
      fs.closeSync(root);
    }
  });

  it("refuses another container's process, a host process, a kernel thread, and a pid that does not exist", () => {
    expect(failsWith(() => native().openContainerRoot(b.pid, a.id))).toBe('EPERM');
    expect(failsWith(() => native().openContainerRoot(process.pid, a.id))).toBe('EPERM');
    expect(failsWith(() => native().openContainerRoot(1, a.id))).toBe('EPERM');
    expect(failsWith(() => native().openContainerRoot(2, a.id))).toBe('EPERM'); // kthreadd: its root is the host's
    expect(failsWith(() => native().openContainerRoot(4_194_000, a.id))).toBe('ESRCH');
    expect(failsWith(() => native().openContainerRoot(a.pid, 'not-an-id'))).toBe('EINVAL');
  });

  it('says whether the engine shares our PID namespace', () => {
    expect(native().peerInOurPidNamespace('/var/run/docker.sock')).toBe(true);
    expect(failsWith(() => native().peerInOurPidNamespace('/nonexistent/socket'))).toBe('ENOENT');
  });
});

describe.runIf(hasEngine)("a container's root across engine events", () => {
  let fixture: Fixture;
  let names: string[];

  beforeAll(() => {
    fixture = makeFixture('lifetime');
    names = [fixture.run('lta'), fixture.run('ltb')];
  });
  afterAll(() => fixture?.cleanup());

  it('a restart retires the root a line holds: later writes fail (ESTALE) and never land in another container', async () => {
    const {Engine} = await import('../../src/docker/engine.js');
    const {Namespace} = await import('../../src/vfs/namespace.js');
    const {Readable} = await import('node:stream');
    const ns = new Namespace(new Engine());
    const stop = await ns.live();
    try {
      const t = await ns.resolve(`/containers/${names[0]}/tmp`);
      if (t.kind !== 'fs') throw new Error('not a filesystem');
      expect(t.fs.driver).toBe('local');
      const restarted = new Promise<void>((resolve) => ns.onChange((_id, action) => action === 'start' && resolve()));
      docker('restart', '-t', '0', names[0]!);
      await restarted;
      // The old root's fd number is free now: the next root opened may well get it.
      const other = await ns.resolve(`/containers/${names[1]}/tmp`);
      if (other.kind !== 'fs') throw new Error('not a filesystem');
      await expect(t.fs.writeFile('/tmp/x', Readable.from([Buffer.from('wrong place')]), {mode: 0o644})).rejects.toMatchObject({code: 'ESTALE'});
      await expect(t.fs.readdir('/tmp')).rejects.toMatchObject({code: 'ESTALE'});
      expect(docker('exec', names[1]!, 'ls', '/tmp')).toBe('');
      expect(docker('exec', names[0]!, 'ls', '/tmp')).toBe('');
      // The namespace itself serves the restarted container from its new process.
      const again = await ns.resolve(`/containers/${names[0]}/tmp`);
      if (again.kind !== 'fs') throw new Error('not a filesystem');
      expect(await again.fs.readdir('/tmp')).toEqual([]);
    } finally {
      stop();
    }
  });

  it('a restart in the middle of a copy: nothing more is written into the old root, the copy fails (ESTALE), its temporary is removed through the new one', async () => {
    const {Engine} = await import('../../src/docker/engine.js');
    const {Namespace} = await import('../../src/vfs/namespace.js');
    const {capabilitiesOf} = await import('../../src/vfs/types.js');
    const {copyFile, Progress} = await import('../../src/vfs/transfer.js');
    const {execFileSync} = await import('node:child_process');
    const os = await import('node:os');
    const path = await import('node:path');
    const name = names[0]!;
    // The source is a host FIFO this test writes: "in the middle of the copy" is a state, not a time.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-restart-copy-'));
    const fifo = path.join(dir, 'src');
    execFileSync('mkfifo', [fifo]);
    const writer = fs.openSync(fifo, fs.constants.O_RDWR);
    const ns = new Namespace(new Engine());
    const stop = await ns.live();
    const inContainer = (): string => docker('exec', name, 'sh', '-c', 'ls -a /tmp; cat /tmp/.copied.dbox-* 2>/dev/null; true');
    try {
      const t = await ns.resolve(`/containers/${name}/tmp`);
      const root = t.kind === 'fs' ? capabilitiesOf(t.fs).hostRoot : undefined;
      if (t.kind !== 'fs' || !root) throw new Error('not a filesystem of this host');
      const local = t.fs;
      const copy = copyFile({fs: ns.host, path: fifo}, {fs: local, path: '/tmp/copied'}, {preserve: false, progress: new Progress()});
      copy.catch(() => undefined);
      fs.writeSync(writer, 'before-restart\n');
      await until('the first bytes in the temporary', () => inContainer().includes('before-restart'));
      const restarted = new Promise<void>((resolve) => ns.onChange((_id, action) => action === 'start' && resolve()));
      docker('restart', '-t', '0', name);
      await restarted;
      await until('the old root retired', () => root.isRetired);
      fs.writeSync(writer, 'after-restart\n');
      fs.closeSync(writer);
      await expect(copy).rejects.toMatchObject({code: 'ESTALE'});
      // Neither the temporary (with or without the later bytes) nor the file is in the container.
      expect(inContainer().split('\n').filter(Boolean)).toEqual(['.', '..']);
      // The way to the new root removes this process's temporaries, and nothing else.
      docker('exec', name, 'touch', '/tmp/kept');
      await expect(local.removeTemporary!('/tmp/kept')).rejects.toMatchObject({code: 'EPERM'});
      expect(docker('exec', name, 'ls', '/tmp')).toBe('kept');
    } finally {
      stop();
      try { fs.closeSync(writer); } catch { /* closed */ }
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });
});
