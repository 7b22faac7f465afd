// The agent driver on the real engine: the ContainerFs contract (the same cases as the local and
// engine drivers), and what it must refuse: links out of the container, device nodes and FIFOs,
// a process that is not the container's, a write whose source fails (nothing left, nothing lost).
import fs from 'node:fs';
import os from 'node:os';
import {Readable} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ProcessRoot} from '../../src/agent/roots.js';
import {agentOf} from '../../src/agent/session.js';
import {Engine} from '../../src/docker/engine.js';
import {AgentFs} from '../../src/vfs/agent-fs.js';
import {changeCases, code, CONTRACT_FILES, engineCat, fileCases, rangesExpected, rangesRead, text} from './contract-cases.js';
import {docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();

// Both ways the agent's bytes travel: open files handed over (the agent runs on this host, the
// engine shares our PID namespace), and the stream itself (DBOX_AGENT_FDS=0, as for remote engines).
describe.runIf(hasEngine).each([['fd channel', '1'], ['stream', '0']])('agent driver (%s)', (_mode, fds) => {
  let fixture: Fixture;
  let name: string;
  let id: string;
  let pid: number;
  const engine = new Engine();
  const refusals: string[] = [];
  /** An AgentFs whose fallback is recorded, never used: these cases must be served by the agent. */
  const agentFs = (p = pid): AgentFs => new AgentFs(agentOf(engine), id, new ProcessRoot(p, id), async (why) => {
    refusals.push(why);
    throw Object.assign(new Error(`handed over: ${why}`), {code: 'EHANDOVER'});
  });

  beforeAll(() => {
    process.env['DBOX_AGENT_FDS'] = fds;
    fixture = makeFixture(`agentc${fds}`, {
      ...CONTRACT_FILES,
      'odd/escape-abs': {symlink: '/etc/agent-canary'},
      'odd/escape-rel': {symlink: '../../../../../../../../etc/agent-canary'},
      'etc/agent-canary': 'inside\n',
    });
    name = fixture.run('c');
    [id, pid] = docker('inspect', '-f', '{{.Id}} {{.State.Pid}}', name).split(' ') as [string, never];
    pid = Number(pid);
    docker('exec', name, 'sh', '-c', 'busybox mkfifo /odd/fifo && busybox mknod /odd/kmsg c 1 11 && busybox mknod /odd/null c 1 3');
    fs.writeFileSync('/etc/agent-canary', 'HOST\n');
  });
  afterAll(() => {
    delete process.env['DBOX_AGENT_FDS'];
    fs.rmSync('/etc/agent-canary', {force: true});
    agentOf(engine).close();
    fixture?.cleanup();
  });

  describe('contract', () => {
    fileCases({driver: 'agent', fs: () => agentFs(), cat: (path) => engineCat(name, path)});
  });

  describe('contract: changes', () => {
    changeCases({driver: 'agent', fs: () => agentFs(), cat: (path) => engineCat(name, path)});
  });

  it('reads byte ranges', async () => {
    expect(await rangesRead(agentFs())).toEqual(rangesExpected);
  });

  it(fds === '1' ? 'files are handed over open' : 'bytes go over the stream', async () => {
    const session = agentOf(engine);
    expect(Boolean(await session.fds(await session.client()))).toBe(fds === '1');
    expect(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('dbox-fd-'))).toEqual([]); // the channel's directory is gone
  });

  it('links resolve inside the container: never a host file', async () => {
    const f = agentFs();
    expect(await text(f, '/odd/escape-abs')).toBe('inside\n');
    expect(await text(f, '/odd/escape-rel')).toBe('inside\n');
    await f.writeFile('/odd/escape-rel', Readable.from([Buffer.from('written\n')]), {mode: 0o644});
    expect(fs.readFileSync('/etc/agent-canary', 'utf8')).toBe('HOST\n');
    expect(docker('exec', name, 'cat', '/etc/agent-canary')).toBe('written');
    expect(await f.readlink('/odd/escape-rel')).toBe('../../../../../../../../etc/agent-canary');
  });

  it('a FIFO or a device node is refused, not opened', async () => {
    const f = agentFs();
    // Said as every driver says it: EPERM, "(a fifo in a container: only regular files are opened)".
    for (const p of ['/odd/fifo', '/odd/kmsg', '/odd/null']) expect(await code(f.createReadStream(p))).toBe('EPERM');
    expect(await code(f.writeFile('/odd/fifo', Readable.from([Buffer.from('x')]), {mode: 0o644}))).toBe('EINVAL');
    const types = Object.fromEntries((await f.readdir('/odd')).map((e) => [e.name, e.type]));
    expect([types['fifo'], types['kmsg']]).toEqual(['fifo', 'char']);
  });

  it('a write whose source fails leaves nothing, and the file keeps its content', async () => {
    const f = agentFs();
    await f.writeFile('/tmp/keep.txt', Readable.from([Buffer.from('old\n')]), {mode: 0o644});
    const failing = Readable.from((async function* () {
      yield Buffer.alloc(3 << 20, 1);
      throw new Error('source broke');
    })());
    await expect(f.writeFile('/tmp/keep.txt', failing, {mode: 0o644})).rejects.toThrow('source broke');
    expect(await text(f, '/tmp/keep.txt')).toBe('old\n');
    expect(docker('exec', name, 'ls', '-a', '/tmp')).not.toMatch(/dbox/);
    // exclusive, of unknown size: refused at once
    expect(await code(f.writeFile('/tmp/keep.txt', Readable.from([Buffer.from('x')]), {mode: 0o644, exclusive: true}))).toBe('EEXIST');
    // exclusive and small: written behind, so the refusal (EEXIST) is the next call's, which then does nothing
    expect(await code(f.writeFile('/tmp/keep.txt', Readable.from([Buffer.from('x')]), {mode: 0o644, exclusive: true, size: 1}))).toBe('ok');
    expect(await code(f.mkdir('/tmp/not-made'))).toBe('EEXIST');
    expect(await code(f.stat('/tmp/not-made'))).toBe('ENOENT');
    expect(await text(f, '/tmp/keep.txt')).toBe('old\n');
  });

  it('a replaced file keeps its owner; a written one takes the mode asked', async () => {
    const f = agentFs();
    docker('exec', name, 'sh', '-c', 'echo a > /tmp/owned && chown 1000:1000 /tmp/owned');
    await f.writeFile('/tmp/owned', Readable.from([Buffer.from('b\n')]), {mode: 0o4750});
    expect(docker('exec', name, 'stat', '-c', '%u %g %a', '/tmp/owned')).toBe('1000 1000 4750');
    await f.writeFile('/tmp/owned', Readable.from([Buffer.from('c\n')]), {mode: 0o600, owner: {uid: 7, gid: 8}, mtime: {sec: 1_000_000, nsec: 0}});
    expect(docker('exec', name, 'stat', '-c', '%u %g %a %Y', '/tmp/owned')).toBe('7 8 600 1000000');
  });

  it("a pid that is not the container's process is refused by the agent (handed over, never served)", async () => {
    refusals.length = 0;
    const other = makeFixture('agentc-other');
    try {
      const otherPid = Number(docker('inspect', '-f', '{{.State.Pid}}', other.run('o')));
      for (const p of [otherPid, process.pid, 1, 2]) {
        expect(await code(agentFs(p).stat('/etc/passwd'))).toBe('EHANDOVER');
      }
      expect(refusals).toEqual(Array(4).fill("the agent could not prove the container's process (EPERM)"));
    } finally {
      other.cleanup();
    }
  });

  it('large files both ways, and many requests in flight at once', async () => {
    const f = agentFs();
    const big = Buffer.alloc(20 << 20);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    await f.writeFile('/tmp/big', Readable.from([big]), {mode: 0o644});
    const chunks: Buffer[] = [];
    for await (const c of await f.createReadStream('/tmp/big')) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
    const stats = await Promise.all(Array.from({length: 500}, (_, i) => f.stat(i % 2 ? '/data/hello.txt' : '/tmp/big')));
    expect(stats.map((s) => s.size)).toEqual(Array.from({length: 500}, (_, i) => (i % 2 ? 6 : big.length)));
  });

  it('a read stopped early is cancelled; the session goes on', async () => {
    const f = agentFs();
    const stream = await f.createReadStream('/tmp/big');
    for await (const _ of stream) break;
    expect((await f.stat('/data/hello.txt')).size).toBe(6);
  });

  it('a retired filesystem fails with ESTALE', async () => {
    const f = agentFs();
    await f.stat('/');
    f.retire();
    expect(await code(f.stat('/'))).toBe('ESTALE');
  });

  it('a stopped container is no longer served (ESTALE), never through an old root', async () => {
    const other = makeFixture('agentc-stop');
    try {
      const n = other.run('s');
      const [oid, opid] = docker('inspect', '-f', '{{.Id}} {{.State.Pid}}', n).split(' ');
      const f = new AgentFs(agentOf(engine), oid!, new ProcessRoot(Number(opid), oid!), async () => {
        throw new Error('no hand-over expected');
      });
      expect((await f.stat('/etc/passwd')).size).toBeGreaterThan(0);
      docker('stop', '-t', '0', n);
      expect(await code(f.stat('/etc/passwd'))).toBe('ESTALE');
      expect(await code(f.writeFile('/tmp/x', Readable.from([Buffer.from('x')]), {mode: 0o644}))).toBe('ESTALE');
    } finally {
      other.cleanup();
    }
  });
});

