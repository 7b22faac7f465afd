// Images, volumes and stopped containers through the agent's layers (src/agent/layer-roots.ts,
// native/layers.c), on the real engine: a stopped container read from its layers with no
// archive request and nothing held at the engine; its writes held (a start waits) and then seen
// by a new read-only view; kill -9 of the agent mid-write leaves the old file or the new one;
// /images against `docker run --rm IMAGE cat`; /volumes written here and read in a container
// (and back); the agent refusing forged layer paths itself, and a hostile engine forging them
// end to end; nothing left once the agent's idle time passes.
import {execFile, execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {AgentErrno} from '../../src/agent/client.js';
import {agentOf} from '../../src/agent/session.js';
import {agentHash} from '../../src/docker/agent-container.js';
import {Engine} from '../../src/docker/engine.js';
import {Namespace} from '../../src/vfs/namespace.js';
import type {ContainerFs} from '../../src/vfs/types.js';
import {code, text} from './contract-cases.js';
import {dbox, dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {startHostileGraph} from './hostile-graph.js';
import {actionsDuring, until} from './wait.js';

const hasEngine = requireEngine();
const run = promisify(execFile);

const FILES = {'data/hello.txt': 'hello\n', 'data/sub/a.txt': 'a\n', 'data/target': 'old\n'.repeat(1000), 'data/link': {symlink: '/data/hello.txt'}};

/** The engine's events for a container while `work` runs. */

const mounted = (dir: string): boolean => fs.readFileSync('/proc/mounts', 'utf8').includes(` ${dir} `);


async function fsOf(ns: Namespace, virtual: string): Promise<ContainerFs> {
  const t = await ns.resolve(virtual);
  if (t.kind !== 'fs') throw new Error(`${virtual} is not a filesystem`);
  return t.fs;
}

const sha = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');

describe.runIf(hasEngine)('images, volumes and stopped containers through the agent\'s layers', () => {
  let fixture: Fixture;
  const engine = new Engine();
  let dataRoot: string;
  const volume = `dbox-layers-${process.pid}`;

  beforeAll(async () => {
    fixture = makeFixture('layers', FILES);
    dataRoot = (await engine.dataRoot())!;
    docker('volume', 'create', volume);
  });
  afterAll(async () => {
    agentOf(engine).close();
    await engine.releaseHolds(); // before the synchronous docker rm below, which would wait for a hold
    fixture?.cleanup();
    execFileSync('docker', ['volume', 'rm', '-f', volume], {stdio: 'ignore'});
  });

  it('a stopped container is read from its layers: no archive request, nothing mounted by the engine, inspect never waits', async () => {
    const c = fixture.create('read');
    const merged = docker('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', c);
    const ns = new Namespace(engine);
    const f = await fsOf(ns, `/containers/${c}/data`);
    expect(f.driver).toBe('agent');
    const actions = await actionsDuring(c, async () => {
      expect((await f.readdir('/data')).map((e) => e.name).sort()).toEqual(['hello.txt', 'link', 'sub', 'target']);
      expect(await text(f, '/data/hello.txt')).toBe('hello\n');
      expect(await text(f, '/data/link')).toBe('hello\n');
      expect(await f.readlink('/data/link')).toBe('/data/hello.txt');
      expect(mounted(merged)).toBe(false); // the engine holds nothing for a read
      // inspect answers while dbox reads (no lock at the engine)
      expect((await run('docker', ['inspect', '-f', '{{.State.Status}}', c])).stdout.trim()).toBe('created');
    });
    expect(actions.filter((a) => a === 'archive-path' || a === 'extract-to-dir')).toEqual([]);
    // read-only for writes made through it? No: writes go to the engine's mount (next test); a
    // read of what is not there is ENOENT.
    expect(await code(f.stat('/data/nothing'))).toBe('ENOENT');
    ns.refresh();
  }, 120_000);

  it('a write holds the engine\'s mount (native: a rename is a rename, hard links stay); a new read-only view then sees it', async () => {
    const c = fixture.create('write');
    const merged = docker('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', c);
    const ns = new Namespace(engine);
    const f = await fsOf(ns, `/containers/${c}/data`);
    expect(await text(f, '/data/hello.txt')).toBe('hello\n');
    const src = new PassThrough();
    const write = f.writeFile('/data/new.txt', src, {mode: 0o644});
    src.write('new ');
    await until('the engine\'s mount for the write', () => mounted(merged));
    src.end('file\n');
    await write;
    await f.link('/data/new.txt', '/data/new-link');
    await f.mkdir('/data/mine');
    await f.writeFile('/data/mine/a.txt', PassThrough.from([Buffer.from('mine\n')]), {mode: 0o644});
    const before = await f.lstat('/data/mine');
    await f.rename('/data/mine', '/data/moved');
    expect((await f.lstat('/data/moved')).ino).toBe(before.ino);
    // The hold is let go after a second without requests; then reads are on a new overlay.
    await until('the hold to be let go', () => !mounted(merged));
    expect(await text(f, '/data/new.txt')).toBe('new file\n');
    expect((await f.lstat('/data/new-link')).nlink).toBe(2);
    expect(await code(f.stat('/data/mine'))).toBe('ENOENT');
    expect(mounted(merged)).toBe(false);
    // And the container, started, sees the same.
    await run('docker', ['start', c]);
    try {
      expect(docker('exec', c, 'sh', '-c', 'cat /data/new.txt; stat -c %h /data/new-link; cat /data/moved/a.txt')).toBe('new file\n2\nmine');
    } finally {
      await run('docker', ['stop', '-t', '0', c]);
    }
    ns.refresh();
  }, 120_000);

  it('a tree copied from a stopped container (root) reads its layers lent whole: holes stay holes, hard links stay, nothing archived; never the engine\'s mount a write holds', async () => {
    const c = fixture.create('lend');
    const merged = docker('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', c);
    docker('start', c);
    docker('exec', c, 'sh', '-c', 'mkdir /sp && truncate -s 64M /sp/hole && echo x > /sp/a && ln /sp/a /sp/b && printf y > /sp/y && mkfifo /sp/fifo');
    docker('stop', '-t', '0', c);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-lend-'));
    const ns = new Namespace(engine);
    try {
      // As a user does it: a whole process, as root.
      const actions = await actionsDuring(c, async () => {
        const r = await run(process.execPath, [dboxPath, '-c', `cp -a /containers/${c}/sp ${out}/sp`], {env: {...process.env, NO_COLOR: '1'}});
        expect(r.stderr).toBe('');
      });
      expect(actions.filter((a) => a === 'archive-path' || a === 'extract-to-dir')).toEqual([]);
      const hole = fs.statSync(`${out}/sp/hole`);
      expect({size: hole.size, allocated: hole.blocks * 512 < 1 << 20}).toEqual({size: 64 << 20, allocated: true}); // the interface copy writes zeros
      expect(fs.statSync(`${out}/sp/a`).ino).toBe(fs.statSync(`${out}/sp/b`).ino);
      expect(fs.readFileSync(`${out}/sp/y`, 'utf8')).toBe('y');
      expect(fs.lstatSync(`${out}/sp/fifo`).isFIFO()).toBe(true);
      // The same through the walks that are not the kernel's (-x, a merge into an existing
      // directory) and from the whole root: read from the lent layers too (a FIFO is made, as
      // GNU cp makes it; holes stay holes).
      fs.mkdirSync(`${out}/merge/sp`, {recursive: true});
      const more = await run(process.execPath, [dboxPath, '-c',
        `cp -rx /containers/${c}/sp ${out}/x && cp -r /containers/${c}/sp ${out}/merge/ && cp -r /containers/${c}/ ${out}/root`]);
      expect(more.stderr).toBe('');
      for (const d of ['x', 'merge/sp', 'root/sp']) {
        expect(fs.lstatSync(`${out}/${d}/fifo`).isFIFO()).toBe(true);
        expect(fs.statSync(`${out}/${d}/hole`).blocks * 512).toBeLessThan(1 << 20);
      }
      expect(fs.readFileSync(`${out}/root/data/hello.txt`, 'utf8')).toBe('hello\n');
      // While a write holds the engine's mount, that mount is never lent (it must stay free to unmount).
      const f = await fsOf(ns, `/containers/${c}/sp`);
      const lender = f.capabilities!.lendsRoot!;
      const src = new PassThrough();
      const write = f.writeFile('/sp/y', src, {mode: 0o644});
      src.write('new ');
      await until('the engine\'s mount for the write', () => mounted(merged));
      expect(await lender.lendRoot()).toBeUndefined();
      src.end('y\n');
      await write;
      await until('the hold to be let go', () => !mounted(merged));
      // Then the layers again, assembled anew: they show the write.
      const lent = await lender.lendRoot();
      expect(lent).toBeDefined();
      lent!.close();
      const again = await run(process.execPath, [dboxPath, '-c', `cp -r /containers/${c}/sp ${out}/again`]);
      expect(again.stderr).toBe('');
      expect(fs.readFileSync(`${out}/again/y`, 'utf8')).toBe('new y\n');
    } finally {
      ns.refresh();
      fs.rmSync(out, {recursive: true, force: true});
    }
  }, 120_000);

  it('a start during a write waits for it, and the container sees the whole file', async () => {
    const c = fixture.create('start');
    const merged = docker('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', c);
    const ns = new Namespace(engine);
    const f = await fsOf(ns, `/containers/${c}/data`);
    const chunk = Buffer.alloc(1 << 20, 7);
    const src = new PassThrough();
    let written = 0;
    const write = f.writeFile('/data/big', src, {mode: 0o644}).then(() => (written = performance.now()));
    src.write(chunk);
    await until('the engine\'s mount for the write', () => mounted(merged));
    let started = 0;
    const start = run('docker', ['start', c]).then(() => (started = performance.now()));
    // 32 MiB more, each piece only once the one before has gone (back-pressure): the write stays
    // open meanwhile, and the container must not run before it ends.
    for (let i = 1; i < 32; i++) {
      if (!src.write(chunk)) await new Promise((r) => src.once('drain', r));
      expect(docker('ps', '-a', '--filter', `name=^${c}$`, '--format', '{{.State}}')).not.toBe('running');
    }
    src.end();
    await write;
    await start;
    try {
      expect(written).toBeGreaterThan(0);
      expect(started).toBeGreaterThanOrEqual(written);
      expect(docker('exec', c, 'sh', '-c', 'wc -c < /data/big')).toBe(String(32 << 20));
    } finally {
      await run('docker', ['stop', '-t', '0', c]);
    }
    ns.refresh();
  }, 180_000);

  it('kill -9 of the agent mid-write: the target is the old file or the new one, never destroyed; the next call starts a new agent', async () => {
    const c = fixture.create('kill');
    const merged = docker('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', c);
    const ns = new Namespace(engine);
    const f = await fsOf(ns, `/containers/${c}/data`);
    const old = 'old\n'.repeat(1000);
    expect(await text(f, '/data/target')).toBe(old);
    const src = new PassThrough();
    const write = f.writeFile('/data/target', src, {mode: 0o644});
    write.catch(() => undefined);
    src.write(Buffer.alloc(4 << 20, 1));
    await until('the engine\'s mount for the write', () => mounted(merged));
    // The agent's serve processes (this test's agent: named after this build's binary): an exec
    // of `dbox-agent serve` (its parent outside the container), or the keeper's fork for a door's
    // connection (named as the keeper is, its parent the keeper, the container's main process).
    // Not what a serve process forks itself (a layer mount's holder: its parent is the serve process).
    const [agent] = docker('ps', '-q', '--filter', `label=dbox.agent=${agentHash()}`).split('\n');
    const keeper = Number(docker('inspect', '-f', '{{.State.Pid}}', agent!));
    const procs = docker('top', agent!, '-eo', 'pid,ppid,args').split('\n').slice(1).map((l) => {
      const [pid, ppid, ...args] = l.trim().split(/\s+/);
      return {pid: Number(pid), ppid: Number(ppid), args: args.join(' ')};
    });
    const listed = new Set(procs.map((p) => p.pid));
    const serving = procs.filter((p) => p.ppid === keeper || (/ serve$/.test(p.args) && !listed.has(p.ppid))).map((p) => p.pid);
    expect(serving.length).toBeGreaterThan(0);
    for (const pid of serving) process.kill(pid, 'SIGKILL');
    src.end(Buffer.alloc(1 << 20, 1));
    await expect(write).rejects.toThrow();
    await until('the hold to be let go', () => !mounted(merged));
    // A new namespace (a new session, a new serve process): the old file, whole; nothing else there.
    const again = new Namespace(engine);
    const g = await fsOf(again, `/containers/${c}/data`);
    expect(sha(await text(g, '/data/target'))).toBe(sha(old));
    expect((await g.readdir('/data')).map((e) => e.name).sort()).toEqual(['hello.txt', 'link', 'sub', 'target']);
    ns.refresh();
    again.refresh();
  }, 120_000);

  it('/images: listed, read as `docker run --rm IMAGE cat` reads them, copied from, never written', async () => {
    const [repo, name] = fixture.tag.split('/') as [string, string];
    const ls = dbox(`ls /images/${repo}`);
    expect(ls.status).toBe(0);
    expect(ls.stdout.split('\n')).toContain(`${name}:latest`);
    const img = `/images/${fixture.tag}:latest`;
    const viaRun = execFileSync('docker', ['run', '--rm', '--network', 'none', fixture.tag, 'cat', '/data/hello.txt', '/etc/passwd'], {encoding: 'utf8'});
    const cat = dbox(`cat ${img}/data/hello.txt ${img}/etc/passwd`);
    expect(cat).toMatchObject({status: 0, stdout: viaRun});
    // External programs through the mount see them too.
    const ext = dbox(`/bin/cat ${img}/data/hello.txt; /bin/ls ${img}/data`);
    expect(ext.stdout).toBe('hello\nhello.txt\nlink\nsub\ntarget\n');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-layers-'));
    try {
      expect(dbox(`cp -r ${img}/data ${out}/`).status).toBe(0);
      expect(fs.readFileSync(`${out}/data/sub/a.txt`, 'utf8')).toBe('a\n');
      const write = dbox(`cp ${out}/data/sub/a.txt ${img}/data/`);
      expect(write.status).not.toBe(0);
      expect(write.stderr).toMatch(/Read-only file system/);
    } finally {
      fs.rmSync(out, {recursive: true, force: true});
    }
    expect(execFileSync('docker', ['run', '--rm', '--network', 'none', fixture.tag, 'ls', '/data'], {encoding: 'utf8'})).toBe('hello.txt\nlink\nsub\ntarget\n');
  }, 120_000);

  it('/volumes: written here, read in a container using the volume, and back', async () => {
    const ls = dbox('ls /volumes');
    expect({...ls, stdout: ls.stdout.split('\n').includes(volume)}).toEqual({status: 0, stderr: '', stdout: true});
    const made = dbox(`mkdir /volumes/${volume}/d && cp /etc/hostname /volumes/${volume}/d/h && echo via-bash > /volumes/${volume}/b`);
    expect(made).toMatchObject({stderr: '', status: 0});
    const seen = execFileSync('docker', ['run', '--rm', '--network', 'none', '-v', `${volume}:/v`, fixture.tag, 'sh', '-c', 'cat /v/d/h /v/b; echo from-container > /v/c'],
      {encoding: 'utf8'});
    expect(seen).toBe(fs.readFileSync('/etc/hostname', 'utf8') + 'via-bash\n');
    expect(dbox(`cat /volumes/${volume}/c`).stdout).toBe('from-container\n');
  }, 120_000);

  describe('hostile layer paths', () => {
    // Of overlay2's shape, 64 hex digits (so only the agent's own check can refuse it).
    const link = (): string => `${dataRoot}/overlay2/${crypto.createHash('sha256').update(`dboxlayerslink${process.pid}`).digest('hex')}`;
    let elsewhere: string;
    beforeAll(() => {
      // A directory outside the data root holding a "diff" with a secret, and a link to it where a layer would be.
      elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-layers-elsewhere-'));
      fs.mkdirSync(`${elsewhere}/diff`);
      fs.writeFileSync(`${elsewhere}/diff/secret`, 'secret\n');
      fs.symlinkSync(elsewhere, link());
    });
    afterAll(() => {
      fs.rmSync(link(), {force: true});
      fs.rmSync(elsewhere, {recursive: true, force: true});
    });

    it('the agent itself refuses them: outside the data root, with "..", through a link, a data root of "/", not a directory, not root\'s alone', async () => {
      const client = await agentOf(engine).client();
      const real = (await engine.layersOf('images', docker('image', 'inspect', '-f', '{{.Id}}', fixture.tag).slice('sha256:'.length)))!.layers[0]!;
      const attempt = async (kind: 'read-only' | 'directory', root: string, layers: string[]): Promise<string> => {
        const {handle, opened} = client.openLayers(kind, root, layers);
        try {
          await opened;
          await client.closeRoot(handle);
          return 'opened';
        } catch (error) {
          return error instanceof AgentErrno ? error.code : String(error);
        }
      };
      expect(await attempt('read-only', dataRoot, ['/etc'])).toBe('EINVAL');
      expect(await attempt('read-only', dataRoot, [`${dataRoot}/overlay2/../../../etc`])).toBe('EINVAL');
      expect(await attempt('read-only', dataRoot, [`${dataRoot}/overlay2/x/../../../../etc`, real])).toBe('EINVAL');
      expect(await attempt('read-only', '/', ['/etc'])).toBe('EINVAL');
      expect(await attempt('directory', dataRoot, [`${link()}/diff`])).toBe('ELOOP');
      expect(await attempt('read-only', dataRoot, [`${link()}/diff`, real])).toBe('ELOOP');
      expect(await attempt('read-only', dataRoot, [`${real}/../../../../etc/passwd`])).toBe('EINVAL');
      const file = `${dataRoot}/overlay2/dbox-layers-file-${process.pid}`;
      fs.writeFileSync(file, '');
      try {
        expect(await attempt('directory', dataRoot, [file])).toBe('ENOTDIR');
      } finally {
        fs.rmSync(file, {force: true});
      }
      expect(await attempt('read-only', dataRoot, [real])).toBe('opened');
      // Root's alone (native/layers.c): a layer an unprivileged user owns is refused (a volume's own
      // directory may be anyone's), and so is anything below a directory such a user owns.
      const mine = `${dataRoot}/overlay2/dbox-layers-mine-${process.pid}`;
      fs.mkdirSync(`${mine}/diff`, {recursive: true});
      try {
        fs.chownSync(`${mine}/diff`, 65534, 65534);
        expect(await attempt('read-only', dataRoot, [`${mine}/diff`, real])).toBe('EPERM');
        expect(await attempt('read-only', dataRoot, [`${mine}/diff`])).toBe('EPERM');
        expect(await attempt('directory', dataRoot, [`${mine}/diff`])).toBe('opened');
        fs.chownSync(`${mine}/diff`, 0, 0);
        fs.chownSync(mine, 65534, 65534);
        expect(await attempt('read-only', dataRoot, [`${mine}/diff`, real])).toBe('EPERM');
        expect(await attempt('directory', dataRoot, [`${mine}/diff`])).toBe('EPERM');
      } finally {
        fs.rmSync(mine, {recursive: true, force: true});
      }
    });

    it.each([
      ['a layer through a link', (d: Record<string, unknown>): Record<string, unknown> => ({...d, UpperDir: `${link()}/diff`})],
      ['a layer outside the data root', (d: Record<string, unknown>): Record<string, unknown> => ({...d, LowerDir: `${elsewhere}/diff:${String(d['LowerDir'])}`})],
      ['a layer with ..', (d: Record<string, unknown>): Record<string, unknown> => ({...d, UpperDir: `${dataRoot}/overlay2/../../../..${elsewhere}/diff`})],
    ])('a hostile engine answering %s: dbox never shows what is there, and serves the container otherwise', async (_what, forge) => {
      const c = fixture.create(`forged-${crypto.randomBytes(3).toString('hex')}`);
      const id = docker('inspect', '-f', '{{.Id}}', c);
      const sock = path.join(os.tmpdir(), `dbox-layers-${process.pid}.sock`);
      const engineProxy = await startHostileGraph(sock, id, forge);
      try {
        // Not dbox() (spawnSync): the hostile engine answers from this very process.
        const r: {stdout: string; stderr: string} = await run(process.execPath, [dboxPath, '-c', `ls /containers/${c}/; cat /containers/${c}/secret; cat /containers/${c}/data/hello.txt`],
          {env: {...process.env, NO_COLOR: '1', DOCKER_HOST: `unix://${sock}`}, encoding: 'utf8', timeout: 120_000}).catch((e: {stdout: string; stderr: string}) => e);
        expect(r.stdout).not.toMatch(/secret/);
        expect(r.stdout).toContain('hello\n');
        expect(r.stdout.split('\n')).toContain('data');
        if (_what.includes('link')) expect(r.stderr).toMatch(/archive API: the agent could not assemble .*\(ELOOP\)/);
      } finally {
        await engineProxy.close();
      }
    }, 120_000);
  });

  it('nothing left: once the agent\'s idle time passes, no container, no image, no mount', async () => {
    // This build's agent (made by these tests) goes; the next one is made with a short idle time.
    const mine = (): string => docker('ps', '-aq', '--filter', `label=dbox.agent=${agentHash()}`);
    agentOf(engine).close();
    for (const id of mine().split('\n').filter(Boolean)) docker('rm', '-f', id);
    const overlays = (): number => fs.readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.startsWith('overlay ')).length;
    const before = overlays();
    const c = fixture.create('idle');
    const upper = docker('inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', c);
    const r = dbox(`ls /containers/${c}/data /images/${fixture.tag}:latest/data /volumes/${volume}`, {env: {DBOX_AGENT_IDLE: '2'}});
    expect(r.status).toBe(0);
    expect(mine()).not.toBe('');
    // The agent's overlays are in no mount namespace: none of the host's mounts names the layers
    // (the one more overlay is the agent container's own root, the engine's).
    expect(fs.readFileSync('/proc/mounts', 'utf8')).not.toContain(upper);
    expect(overlays()).toBe(before + 1);
    await until('the agent to exit', () => mine() === '', 60_000);
    expect(docker('images', '-q', `dbox-agent:${agentHash().slice(0, 12)}`)).toBe('');
    await until('the agent\'s root to be unmounted', () => overlays() === before, 30_000);
  }, 120_000);
});
