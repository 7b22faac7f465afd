// Engines that are not ours, served by the dbox agent: a second dockerd on TLS loopback (through a
// docker context) with a container that has no shell and no stat (listed without any archive
// download, read and written), the agent killed mid-copy (a clear error, nothing lost, nothing
// left, the next call starts a new agent), and nothing left on the engine once dbox has exited
// and the agent's idle time has passed; a second dockerd in a PID namespace of its own.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dbox, dboxPath, requireEngine} from './engine.js';
import {actionsDuring, until} from './wait.js';
import {startRemoteEngine, type RemoteEngine} from '../../harness/remote-engine.js';

const hasEngine = requireEngine();

/** An image with no shell and no stat: a lone static busybox with no applet links (nothing to run as `sh`), and data. */
function shellLessImage(remote: RemoteEngine, tag: string): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-noshell-'));
  try {
    fs.copyFileSync('/bin/busybox', path.join(root, 'busybox'));
    fs.mkdirSync(path.join(root, 'many'));
    for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(root, 'many', `f${i}`), `file ${i}\n`);
    fs.mkdirSync(path.join(root, 'data'));
    fs.writeFileSync(path.join(root, 'data', 'hello.txt'), 'hello from a shell-less container\n');
    fs.mkdirSync(path.join(root, 'tmp'), {mode: 0o1777});
    execFileSync('sh', ['-c', `tar -C '${root}' -c . | docker -H unix://${remote.socket} import - ${tag}`], {stdio: 'ignore'});
  } finally {
    fs.rmSync(root, {recursive: true, force: true});
  }
}

/** The actions of the engine's events for one container while `work` runs. */
/** The engine's actions on `container` of `remote` while `work` runs. */
const actionsOn = (remote: RemoteEngine, container: string, work: () => unknown): Promise<string[]> =>
  actionsDuring(container, work, {...process.env, DOCKER_HOST: `unix://${remote.socket}`});

const agents = (remote: RemoteEngine): string[] => remote.docker('ps', '-aq', '--filter', 'label=dbox.agent').split('\n').filter(Boolean);


describe.runIf(hasEngine)('the agent on a TLS engine', () => {
  let remote: RemoteEngine;
  let home: string;
  const c = `noshell-${process.pid}`;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({HOME: home, ...extra});

  beforeAll(async () => {
    remote = await startRemoteEngine();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
    remote.context(home, 'remote');
    shellLessImage(remote, 'dbox-test/noshell-agent');
    remote.docker('run', '-d', '--network', 'none', '--name', c, 'dbox-test/noshell-agent', '/busybox', 'sleep', '2147483647');
  }, 180_000);
  afterAll(() => {
    remote?.stop();
    if (home) fs.rmSync(home, {recursive: true, force: true});
  });

  it('lists 1,000 entries of a shell-less container without any archive download, reads and writes it', async () => {
    expect(spawnSync('docker', ['-H', `unix://${remote.socket}`, 'exec', c, 'sh', '-c', 'true']).status).not.toBe(0); // no shell
    let ls!: ReturnType<typeof dbox>;
    const actions = await actionsOn(remote, c, () => {
      ls = dbox(`ls -l /hosts/remote/${c}/many`, {env: env()});
    });
    expect(ls.stderr).toBe('');
    expect(ls.stdout.split('\n').filter((l) => /^-rw-r--r-- +1 0 +0 +\d+ .* f\d+$/.test(l))).toHaveLength(1000);
    expect(actions).toEqual([]); // no archive-path (download), no exec_* in the target
    const src = path.join(home, 'up.txt');
    fs.writeFileSync(src, 'uploaded\n');
    const written = await actionsOn(remote, c, () => {
      expect(dbox(`cat /hosts/remote/${c}/data/hello.txt`, {env: env()})).toMatchObject({status: 0, stdout: 'hello from a shell-less container\n'});
      expect(dbox(`cp ${src} /hosts/remote/${c}/tmp/up.txt`, {env: env()})).toMatchObject({status: 0, stderr: ''});
      expect(dbox(`cp /hosts/remote/${c}/tmp/up.txt ${home}/back.txt`, {env: env()})).toMatchObject({status: 0, stderr: ''});
    });
    expect(written).toEqual([]);
    expect(fs.readFileSync(`${home}/back.txt`, 'utf8')).toBe('uploaded\n');
    expect(dbox(`ls -a /hosts/remote/${c}/tmp`, {env: env()}).stdout).toBe('.\n..\nup.txt\n');
    // what the engine itself has there (an archive read, outside the windows above)
    expect(execFileSync('sh', ['-c', `docker -H unix://${remote.socket} cp ${c}:/tmp/up.txt - | tar -xO`], {encoding: 'utf8'})).toBe('uploaded\n');
  }, 120_000);

  // A new file is made atomically (a copy onto an existing file writes into it, as GNU cp does, so
  // there a killed copy leaves what it wrote): killed mid-copy, nothing is left at the new name.
  it('the agent killed mid-copy: a clear error, nothing at the new name, the old file untouched, no temporary, the next call starts a new agent', async () => {
    const big = path.join(home, 'big');
    execFileSync('sh', ['-c', `head -c ${512 << 20} /dev/zero > ${big}`]);
    fs.writeFileSync(path.join(home, 'old.txt'), 'old\n');
    expect(dbox(`cp ${path.join(home, 'old.txt')} /hosts/remote/${c}/tmp/dest`, {env: env()}).status).toBe(0);
    const [agent] = agents(remote);
    expect(agent).toBeDefined();
    const copy = spawn(process.execPath, [dboxPath, '-c', `cp ${big} /hosts/remote/${c}/tmp/fresh`], {env: {...process.env, ...env(), NO_COLOR: '1'}});
    let stderr = '';
    copy.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number>((resolve) => copy.on('close', (code) => resolve(code ?? -1)));
    // The agent's processes (host pids: --pid=host on this same kernel); kill -9 once its serve process has written 32 MiB.
    const pids = (): {serve?: number; keeper?: number} => {
      const rows = remote.docker('top', agent!, '-eo', 'pid,args').split('\n').slice(1);
      const pid = (re: RegExp): number | undefined => Number(rows.find((r) => re.test(r))?.trim().split(/\s+/)[0]) || undefined;
      return {serve: pid(/dbox-agent serve/), keeper: pid(/dbox-agent keep/)};
    };
    const written = (pid: number): number => Number(/wchar: (\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
    let victim: {serve?: number; keeper?: number} = {};
    await until('the copy is under way', () => {
      victim = pids();
      return victim.serve !== undefined && written(victim.serve) > 32 << 20;
    });
    process.kill(victim.serve!, 'SIGKILL');
    const code = await exited;
    // The whole agent then dies too (its container's main process, killed the same way): the next call makes a new one.
    process.kill(victim.keeper!, 'SIGKILL');
    await until('the old agent is gone', () => !agents(remote).includes(agent!));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^cp: .*fresh.*Input\/output error \(the dbox agent stopped/m);
    expect(dbox(`cat /hosts/remote/${c}/tmp/dest`, {env: env()}).stdout).toBe('old\n');
    expect(dbox(`ls -a /hosts/remote/${c}/tmp`, {env: env()}).stdout).not.toMatch(/dbox|fresh/);
    const now = agents(remote);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(agent);
    fs.rmSync(big);
  }, 180_000);

  it('nothing is left on the engine once dbox has exited and the idle time has passed', async () => {
    for (const id of agents(remote)) spawnSync('docker', ['-H', `unix://${remote.socket}`, 'rm', '-f', id], {stdio: 'ignore'});
    await until('no agent is left from before', () => agents(remote).length === 0);
    const since = (Date.now() / 1000).toFixed(3);
    expect(dbox(`cat /hosts/remote/${c}/data/hello.txt`, {env: env({DBOX_AGENT_IDLE: '2'})}).status).toBe(0);
    const created = remote.docker('events', '--since', since, '--until', (Date.now() / 1000 + 1).toFixed(3), '--filter', 'label=dbox.agent',
      '--filter', 'event=start', '--format', '{{.Actor.Attributes.name}}');
    expect(created).toMatch(/^dbox-agent-[0-9a-f]{12}$/);
    await until('the agent has left', () => agents(remote).length === 0);
    expect(remote.docker('images', '-aq', '--filter', 'label=dbox.agent')).toBe('');
    expect(remote.docker('images', '--format', '{{.Repository}}')).not.toMatch(/dbox-agent/);
  }, 120_000);
});

describe.runIf(hasEngine)('the agent on an engine in a PID namespace of its own (unix socket)', () => {
  let remote: RemoteEngine;
  const c = `pidns-${process.pid}`;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    remote = await startRemoteEngine({pidNamespace: true});
    env = {DOCKER_HOST: `unix://${remote.socket}`, DOCKER_CONTEXT: ''};
    execFileSync('sh', ['-c', `docker save dbox-test/busybox | docker -H unix://${remote.socket} load -q`], {stdio: 'ignore'});
    remote.docker('run', '-d', '--network', 'none', '--name', c, 'dbox-test/busybox', 'sleep', '2147483647');
    remote.docker('exec', c, 'sh', '-c', 'echo inner > /tmp/mark');
  }, 180_000);
  afterAll(() => remote?.stop());

  it("is served by the agent, which proves the process on its side; never by this host's /proc", async () => {
    // The engine's pids are its namespace's: the pid it gives names something else here, or nothing.
    const pid = Number(remote.docker('inspect', '-f', '{{.State.Pid}}', c));
    const {native} = await import('../../src/native.js');
    expect(native().peerInOurPidNamespace(remote.socket)).toBe(false);
    const id = remote.docker('inspect', '-f', '{{.Id}}', c);
    expect(() => native().openContainerRoot(pid, id)).toThrow(); // here, that pid is not the container's process
    const {Engine} = await import('../../src/docker/engine.js');
    const {defaultEndpoint} = await import('../../src/docker/endpoints.js');
    const {Namespace} = await import('../../src/vfs/namespace.js');
    const ns = new Namespace(new Engine(defaultEndpoint(env)));
    const t = await ns.resolve(`/containers/${c}/tmp`);
    expect(t.kind === 'fs' && t.fs.driver).toBe('agent');
    const actions = await actionsOn(remote, c, () => {
      expect(dbox(`cat /containers/${c}/tmp/mark`, {env})).toMatchObject({status: 0, stdout: 'inner\n', stderr: ''});
      expect(dbox(`cp /containers/${c}/tmp/mark /containers/${c}/tmp/copy`, {env})).toMatchObject({status: 0, stderr: ''});
    });
    expect(actions).toEqual([]);
    expect(remote.docker('exec', c, 'cat', '/tmp/copy')).toBe('inner');
  }, 120_000);
});
