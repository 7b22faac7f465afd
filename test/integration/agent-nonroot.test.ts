// A non-root user in the docker group (made here, removed after) runs dbox's builtins on a local
// container: served by the dbox agent (nothing run in, nothing uploaded to, the target container:
// the engine's events for it stay empty), with root-level access to the container's files, as
// the docker group already gives.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

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

