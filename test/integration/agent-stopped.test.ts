// Stopped containers through the agent: their filesystem as the engine mounts it for an archive
// upload held open (src/agent/roots.ts, HeldRoot), which is where the namespace's stopped
// containers are written (reads go to their layers: agent-layers.test.ts). The contract cases;
// native semantics (a rename is a rename, hard links stay links, no archive download to list); a
// `docker start` during a long copy waits, then sees the whole tree; nothing held once dbox is done.
import {execFile} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {HeldRoot} from '../../src/agent/roots.js';
import {agentOf} from '../../src/agent/session.js';
import {Engine} from '../../src/docker/engine.js';
import {AgentFs} from '../../src/vfs/agent-fs.js';
import {Namespace} from '../../src/vfs/namespace.js';
import {copyEntry, Progress} from '../../src/vfs/transfer.js';
import {changeCases, CONTRACT_FILES, engineCat, fileCases, rangesExpected, rangesRead, text} from './contract-cases.js';
import {docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {actionsDuring} from './wait.js';

const hasEngine = requireEngine();
const run = promisify(execFile);

describe.runIf(hasEngine)('stopped containers through the agent', () => {
  let fixture: Fixture;
  let name: string;
  let id: string;
  const engine = new Engine();
  let merged: string;
  // (Asked once, before any hold: while dbox holds a container, the engine answers `docker inspect`
  // of it only after, and a synchronous call here would wait for this very process.)
  const heldFs = (): AgentFs => {
    return new AgentFs(agentOf(engine), id, new HeldRoot(engine, id, merged), async (why) => {
      throw Object.assign(new Error(`handed over: ${why}`), {code: 'EHANDOVER'});
    });
  };
  let shared: AgentFs;

  beforeAll(() => {
    fixture = makeFixture('stopped', CONTRACT_FILES);
    name = fixture.create('s');
    [id, merged] = docker('inspect', '-f', '{{.Id}} {{.GraphDriver.Data.MergedDir}}', name).split(' ') as [string, string];
    shared = heldFs();
  });
  afterAll(async () => {
    agentOf(engine).close();
    await engine.releaseHolds(); // before the synchronous docker rm below, which would wait for a hold
    fixture?.cleanup();
  });

  describe('contract', () => {
    fileCases({driver: 'held', fs: () => shared, cat: (p) => engineCat(name, p, false)});
    changeCases({driver: 'held', fs: () => shared, cat: (p) => engineCat(name, p, false)});
  });

  it('reads byte ranges', async () => {
    expect(await rangesRead(shared)).toEqual(rangesExpected);
  });

  it('native semantics: a rename is a rename, hard links stay links, chmod 000 stays 000; nothing downloaded to list', async () => {
    const f = heldFs();
    const actions = await actionsDuring(name, async () => {
      await f.mkdir('/native');
      await f.writeFile('/native/a', Readable.from([Buffer.from('a\n')]), {mode: 0o644});
      await f.link('/native/a', '/native/b');
      const before = await f.lstat('/native');
      await f.rename('/native', '/moved');
      const after = await f.lstat('/moved');
      expect(after.ino).toBe(before.ino);
      expect((await f.lstat('/moved/b')).nlink).toBe(2);
      await f.chmod('/moved/a', 0);
      expect((await f.lstat('/moved/a')).mode & 0o7777).toBe(0);
      expect((await f.readdir('/data')).map((e) => e.name).sort()).toEqual(Object.keys(CONTRACT_FILES).filter((p) => p.startsWith('data/'))
        .map((p) => p.split('/')[1]!).filter((n, i, a) => a.indexOf(n) === i).sort());
    });
    expect(actions.filter((a) => a === 'archive-path')).toEqual([]); // no archive download
    // what the container sees when it starts (the start waits for the holds to be let go)
    await run('docker', ['start', name]);
    try {
      expect(docker('exec', name, 'sh', '-c', 'stat -c "%h %a" /moved/a; cat /moved/b; ls /native 2>&1 || true')).toBe('2 0\na\nls: /native: No such file or directory');
    } finally {
      await run('docker', ['stop', '-t', '0', name]);
    }
  }, 120_000);

  it('a start during a long copy waits for it, then sees the whole tree', async () => {
    const c = fixture.create('long');
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-long-'));
    try {
      for (let d = 0; d < 20; d++) {
        fs.mkdirSync(`${src}/d${d}`);
        for (let i = 0; i < 100; i++) fs.writeFileSync(`${src}/d${d}/f${i}`, `${d}/${i}\n`.repeat(200));
      }
      fs.writeFileSync(`${src}/big`, Buffer.alloc(64 << 20, 1));
      const merged = docker('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', c);
      // The copy runs here (cp -r's copy engine), so that its end is known exactly.
      const ns = new Namespace(new Engine());
      const t = await ns.resolve(`/containers/${c}/tree`);
      if (t.kind !== 'fs') throw new Error('not a filesystem');
      let copied = 0;
      const copy = copyEntry({fs: ns.host, path: src}, {fs: t.fs, path: '/tree'}, {preserve: false, progress: new Progress()})
        .then(() => (copied = performance.now()));
      // Once the engine has the filesystem mounted for us (the hold), start the container.
      const deadline = Date.now() + 60_000;
      while (!fs.readFileSync('/proc/mounts', 'utf8').includes(` ${merged} `)) {
        if (Date.now() > deadline) throw new Error('the copy never held the filesystem');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(copied).toBe(0); // still copying
      await run('docker', ['start', c]);
      const started = performance.now();
      await copy;
      expect(copied).toBeGreaterThan(0);
      expect(copied).toBeLessThanOrEqual(started); // the start waited for the copy to end
      expect(docker('exec', c, 'sh', '-c', 'find /tree -type f | wc -l; cat /tree/d19/f99 | wc -l; wc -c < /tree/big')).toBe('2001\n200\n67108864');
      expect(docker('exec', c, 'sh', '-c', 'ls -a /tree | grep -c dbox || true')).toBe('0');
    } finally {
      fs.rmSync(src, {recursive: true, force: true});
    }
  }, 240_000);

  it('listed as running, killed before its first use: served as the stopped container it is now (the agent, no archive download), not as a running one', async () => {
    const c = fixture.run('killed');
    const e = new Engine();
    const ns = new Namespace(e);
    expect((await ns.containers()).find((x) => x.name === c)?.state).toBe('running'); // the list this command line keeps
    await run('docker', ['kill', c]);
    await run('docker', ['wait', c]); // stopped, whatever the list says
    const actions = await actionsDuring(c, async () => {
      const t = await ns.resolve(`/containers/${c}/data`);
      if (t.kind !== 'fs') throw new Error('not a filesystem');
      expect(t.fs.driver).toBe('agent');
      expect(await text(t.fs, '/data/hello.txt')).toBe('hello\n');
      await t.fs.mkdir('/data/after');
      expect((await t.fs.lstat('/data/after')).mode & 0o170000).toBe(0o040000);
    });
    expect(actions.filter((a) => a === 'archive-path')).toEqual([]); // nothing downloaded, file by file or whole
    agentOf(e).close();
    await e.releaseHolds(); // before the synchronous docker diff, which would wait for a hold
    expect(docker('diff', c).split('\n')).toContain('A /data/after');
  }, 60_000);

  it('a read holds nothing; a write\'s hold is let go after a second without requests: the engine unmounts, a start does not wait', async () => {
    const c = fixture.create('after');
    const merged = docker('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', c);
    const mounted = (): boolean => fs.readFileSync('/proc/mounts', 'utf8').includes(` ${merged} `);
    const ns = new Namespace(new Engine());
    const t = await ns.resolve(`/containers/${c}/data`);
    if (t.kind !== 'fs') throw new Error('not a filesystem');
    expect(t.fs.driver).toBe('agent');
    expect(await text(t.fs, '/data/hello.txt')).toBe('hello\n');
    expect(mounted()).toBe(false); // read from its layers
    await t.fs.mkdir('/data/made');
    expect(mounted()).toBe(true); // held for the write
    const deadline = Date.now() + 30_000;
    while (mounted()) {
      if (Date.now() > deadline) throw new Error('the hold was never let go');
      await new Promise((r) => setTimeout(r, 20));
    }
    await run('docker', ['start', c]);
    expect(docker('inspect', '-f', '{{.State.Running}}', c)).toBe('true');
  }, 60_000);
});
