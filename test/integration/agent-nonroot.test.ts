// A non-root user in the docker group (made here, removed after) runs dbox's builtins on a local
// container: served by the dbox agent (nothing run in, nothing uploaded to, the target container:
// the engine's events for it stay empty), with root-level access to the container's files, as
// the docker group already gives.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {startRemoteEngine, type RemoteEngine} from '../../harness/remote-engine.js';

const hasEngine = requireEngine();
const user = `dboxnr${process.pid % 100000}`;
const home = `/home/${user}`;

/** `dbox -c LINE` as the user, with the groups of its login (runuser), in its home. */
function asUser(line: string): {status: number; stdout: string; stderr: string} {
  const r = spawnSync('runuser', ['-u', user, '--', 'env', `HOME=${home}`, 'NO_COLOR=1', process.execPath, dboxPath, '-c', line],
    {cwd: home, encoding: 'utf8', timeout: 120_000});
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr};
}

/** The engine's events for one container while `work` runs (exec_*, archive-path…). */
function eventsOf(container: string, work: () => void): string[] {
  const since = (Date.now() / 1000).toFixed(3);
  work();
  const until = (Date.now() / 1000 + 1).toFixed(3);
  return docker('events', '--since', since, '--until', until, '--filter', `container=${container}`, '--format', '{{.Action}}')
    .split('\n').filter(Boolean);
}

describe.runIf(hasEngine)('a non-root user in the docker group, through the agent', () => {
  let fixture: Fixture;
  let c: string;

  beforeAll(() => {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', user]);
    execFileSync('usermod', ['-aG', 'docker', user]);
    fixture = makeFixture('nonroot', {'data/hello.txt': 'hello\n', 'data/tree/a/one.txt': 'one\n', 'data/tree/b/two.txt': 'two\n',
      'data/tree/link': {symlink: 'a/one.txt'}});
    c = fixture.run('c');
    docker('exec', c, 'sh', '-c', 'echo secret > /data/secret && chmod 600 /data/secret && chmod 700 /data/tree/b');
    fs.mkdirSync(`${home}/up/sub`, {recursive: true});
    fs.writeFileSync(`${home}/up/sub/file.txt`, 'from the host\n');
    execFileSync('chown', ['-R', `${user}:${user}`, `${home}/up`]);
  });
  afterAll(() => {
    fixture?.cleanup();
    spawnSync('userdel', ['-r', user], {stdio: 'ignore'});
  });

  it('ls -l and cat, with nothing run in the target container', () => {
    let ls!: ReturnType<typeof asUser>;
    let cat!: ReturnType<typeof asUser>;
    const events = eventsOf(c, () => {
      ls = asUser(`ls -l /containers/${c}/data`);
      cat = asUser(`cat /containers/${c}/data/hello.txt /containers/${c}/data/secret`);
    });
    expect(ls).toMatchObject({status: 0, stderr: ''});
    expect(ls.stdout).toMatch(/^-rw------- +1 root +root +7 .* secret$/m);
    expect(ls.stdout).toMatch(/^drwxr-xr-x .* tree$/m);
    expect(cat).toMatchObject({status: 0, stdout: 'hello\nsecret\n', stderr: ''});
    expect(events).toEqual([]);
  });

  it('cp -r from the container to the host and back', () => {
    const out = asUser(`cp -r /containers/${c}/data/tree ${home}/down`);
    expect(out).toMatchObject({status: 0, stderr: ''});
    expect(fs.readFileSync(`${home}/down/a/one.txt`, 'utf8')).toBe('one\n');
    expect(fs.readFileSync(`${home}/down/b/two.txt`, 'utf8')).toBe('two\n');
    expect(fs.readlinkSync(`${home}/down/link`)).toBe('a/one.txt');
    // Written by the user: its files are the user's.
    expect(fs.statSync(`${home}/down/a/one.txt`).uid).toBe(Number(execFileSync('id', ['-u', user], {encoding: 'utf8'})));
    const up = asUser(`cp -r ${home}/up /containers/${c}/tmp/`);
    expect(up).toMatchObject({status: 0, stderr: ''});
    expect(docker('exec', c, 'cat', '/tmp/up/sub/file.txt')).toBe('from the host');
    expect(docker('exec', c, 'ls', '-a', '/tmp/up/sub')).not.toMatch(/dbox/);
  });

  it('errors as coreutils words them', () => {
    const r = asUser(`cat /containers/${c}/data/nope`);
    expect(r).toMatchObject({status: 1, stdout: ''});
    expect(r.stderr).toBe(`cat: /containers/${c}/data/nope: No such file or directory\n`);
  });
});


describe.runIf(hasEngine)("a non-root user's door and fd channel, on a local engine of the test's own", () => {
  let remote: RemoteEngine;
  const env = (): string[] => [`DOCKER_HOST=unix://${remote.socket}`, 'DOCKER_CONTEXT=', 'DBOX_AGENT_IDLE=3'];
  const c = `door-${process.pid}`;
  const user = `dboxdr${process.pid % 100000}`; // a user of its own: its door directory holds this engine's door only
  const home = `/home/${user}`;
  let uid: number;

  /** `dbox -c LINE` as the user, on that engine. */
  const run = (line: string, stdout: 'pipe' | number = 'pipe'): {status: number; stdout: string; stderr: string} => {
    const r = spawnSync('runuser', ['-u', user, '--', 'env', `HOME=${home}`, 'NO_COLOR=1', ...env(), process.execPath, dboxPath, '-c', line],
      {cwd: home, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', stdout, 'pipe']});
    return {status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr};
  };

  beforeAll(async () => {
    spawnSync('useradd', ['-m', '-s', '/bin/sh', user], {stdio: 'ignore'});
    execFileSync('usermod', ['-aG', 'docker', user]);
    uid = Number(execFileSync('id', ['-u', user], {encoding: 'utf8'}));
    remote = await startRemoteEngine();
    fs.chmodSync(remote.dir, 0o711); // the user reaches its socket (root:docker 0660) as with /var/run
    execFileSync('sh', ['-c', `docker save dbox-test/busybox | docker -H unix://${remote.socket} load -q`], {stdio: 'ignore'});
    remote.docker('run', '-d', '--network', 'none', '--name', c, 'dbox-test/busybox', 'sleep', '2147483647');
    remote.docker('exec', c, 'sh', '-c', 'head -c 67108864 /dev/urandom > /big && chmod 600 /big');
  }, 180_000);
  afterAll(() => {
    remote?.stop();
    spawnSync('userdel', ['-r', user], {stdio: 'ignore'});
  });

  it('the first command comes in by an exec, later ones by the door; big files are handed over; nothing is left after the idle time', async () => {
    const agentExecs = async (work: () => void): Promise<number> => {
      const since = (Date.now() / 1000).toFixed(3);
      work();
      const until = (Date.now() / 1000 + 1).toFixed(3);
      return remote.docker('events', '--since', since, '--until', until, '--filter', 'label=dbox.agent', '--filter', 'event=exec_start',
        '--format', '{{.Action}}').split('\n').filter(Boolean).length;
    };
    const dir = `/tmp/dbox-agent-${uid}`;
    // (uids are reused by the users tests make: another agent's door for this uid may be there already)
    const before = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    expect(await agentExecs(() => expect(run(`ls /containers/${c}/etc`)).toMatchObject({status: 0, stderr: ''}))).toBe(1);
    const added = fs.readdirSync(dir).filter((n) => !before.includes(n));
    expect(added).toEqual([expect.stringMatching(/^agent-[0-9a-f]{24}\.sock$/)]);
    const door = path.join(dir, added[0]!);
    expect(fs.statSync(door)).toMatchObject({uid});
    expect(fs.statSync(door).mode & 0o777).toBe(0o600);
    const out = path.join(home, 'big.out');
    const fd = fs.openSync(out, 'w');
    try {
      expect(await agentExecs(() => {
        expect(run(`ls -l /containers/${c}/big`).stdout).toMatch(/^-rw------- +1 root +root +67108864 /);
        expect(run(`cat /containers/${c}/big`, fd)).toMatchObject({status: 0, stderr: ''});
      })).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    const sum = (s: string): string => s.split(' ')[0]!;
    expect(sum(execFileSync('sha256sum', [out], {encoding: 'utf8'}))).toBe(sum(remote.docker('exec', c, 'sha256sum', '/big')));
    expect(fs.readdirSync('/tmp').filter((n) => n.startsWith('dbox-fd-'))).toEqual([]);
    // Once dbox has exited and the idle time has passed: no agent, no door, no directory of it.
    const deadline = Date.now() + 60_000;
    const left = (): boolean => remote.docker('ps', '-aq', '--filter', 'label=dbox.agent') !== '' || fs.existsSync(door) ||
      (before.length === 0 && fs.existsSync(dir));
    while (left()) {
      if (Date.now() > deadline) throw new Error(`left behind: ${remote.docker('ps', '-a')} ${fs.existsSync(dir) ? fs.readdirSync(dir) : ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(remote.docker('images', '-aq', '--filter', 'label=dbox.agent')).toBe('');
  }, 180_000);
});
