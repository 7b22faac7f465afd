// attach on real containers and real mounts: a container with no shell at all, a read-only
// one, both in-kernel methods (blockdev on an ext4 image on a loop device the test makes),
// upload through the engine, a crash followed by --cleanup, bad input, and a real terminal.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, removeUser, requireEngine, type Fixture} from './engine.js';
import {makeExt4} from './ext4.js';

const hasEngine = requireEngine();

const attach = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [dboxPath, 'attach', ...args], {encoding: 'utf8', env: {...process.env, ...env}, input: ''});

/** Kills (by its pid) the process running exactly `args` in a container: ours, started by the test. */
function killInContainer(name: string, args: string): void {
  for (const line of docker('top', name, '-eo', 'pid,args').split('\n').slice(1)) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && m[2] === args) process.kill(Number(m[1]), 'SIGKILL');
  }
}

/** What a container shows of an attach: its filesystem changes and its mount table. */
function traces(name: string): {diff: string; mounts: number} {
  const pid = docker('inspect', '-f', '{{.State.Pid}}', name);
  const mountinfo = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  return {diff: docker('diff', name), mounts: mountinfo.split('\n').filter((l) => /\/\.dbox|\/opt\/tools|\.dbox-/.test(l)).length};
}

describe.runIf(hasEngine)('attach', () => {
  let fixture: Fixture;
  let noshell: string;
  let readonly: string;
  let plain: string;
  let dataHome: string;
  const env = (): NodeJS.ProcessEnv => ({XDG_DATA_HOME: dataHome});

  beforeAll(() => {
    fixture = makeFixture('attach', {'etc/hostname.txt': 'x\n'});
    noshell = `dbox-attach-noshell-${process.pid}`;
    docker('run', '-d', '--network', 'none', '--name', noshell, 'dbox-test/noshell');
    readonly = fixture.run('ro', '--read-only');
    plain = fixture.run('plain');
    dataHome = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-data-'));
  });
  afterAll(() => {
    spawnSync('docker', ['rm', '-f', noshell], {stdio: 'ignore'});
    fixture?.cleanup();
    fs.rmSync(dataHome, {recursive: true, force: true});
  });

  it('runs the toolbox inside a container that has no shell and no tools, and leaves nothing', () => {
    expect(spawnSync('docker', ['exec', noshell, 'sh', '-c', 'true']).status).not.toBe(0); // really no shell
    const r = attach([noshell, '--', 'sh', '-c', 'ls /app; ps; cat /etc/hostname'], env());
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('data.txt\nsleep\n');
    expect(r.stdout).toMatch(/\n\s+1 0\s+\/app\/sleep 2147483647\n/); // the container's processes, pid 1 first
    expect(r.stdout.trim().split('\n').at(-1)).toBe(docker('inspect', '-f', '{{.Config.Hostname}}', noshell));
    expect(fs.existsSync(path.join(dataHome, 'dbox/toolbox/bin/busybox'))).toBe(true);
    expect(traces(noshell)).toEqual({diff: '', mounts: 0});
  });

  it('passes the command status through', () => {
    expect(attach([noshell, '--', 'sh', '-c', 'exit 7'], env()).status).toBe(7);
  });

  it('a read-only container and a target that does not exist: created for the moment, removed, root read-only again', () => {
    const r = attach([readonly, '--at', '/opt/tools', '--', '/opt/tools/bin/sh', '-c', 'ls /opt/tools/bin | grep -c . ; touch /probe'], env());
    expect(r.stdout.trim()).toMatch(/^\d{3}$/);
    expect(r.stderr).toContain('touch: /probe: Read-only file system'); // read-only again while the shell runs
    expect(traces(readonly)).toEqual({diff: '', mounts: 0});
    expect(spawnSync('docker', ['exec', readonly, 'touch', '/probe']).status).not.toBe(0);
    expect(spawnSync('docker', ['exec', readonly, 'ls', '/opt']).status).not.toBe(0);
  });

  it('mount-api and blockdev (toolbox on an ext4 image on a loop device)', () => {
    const ext4 = makeExt4();
    try {
      for (const method of ['mount-api', 'blockdev']) {
        const r = attach([readonly, ext4.tools, '--method', method, '--verbose', '--', '/.dbox/bin/sh', '-c', 'echo $0 ok'], env());
        expect(r.stdout, method).toBe('/.dbox/bin/sh ok\n');
        expect(r.stderr, method).toContain(`used ${method}`);
        expect(traces(readonly), method).toEqual({diff: '', mounts: 0});
      }
      // A filesystem the host has read-only: blockdev's second mount of it must ask for that too.
      execFileSync('mount', ['-o', 'remount,ro', ext4.mnt]);
      const ro = attach([readonly, ext4.tools, '--method', 'blockdev', '--', '/.dbox/bin/sh', '-c', 'echo ok'], env());
      expect({stdout: ro.stdout, stderr: ro.stderr}).toEqual({stdout: 'ok\n', stderr: ''});
      expect(traces(readonly)).toEqual({diff: '', mounts: 0});
      // blockdev needs a block device: a tmpfs directory is refused with the reason.
      const shm = fs.mkdtempSync('/dev/shm/dbox-');
      const r = attach([readonly, shm, '--method', 'blockdev'], env());
      fs.rmSync(shm, {recursive: true});
      expect(r.stderr).toMatch(/^attach: the blockdev method needs a directory on a block device \(.* is on tmpfs\)\n$/);
      expect(traces(readonly)).toEqual({diff: '', mounts: 0});
    } finally {
      ext4.cleanup();
    }
  });

  it('upload: copied in through the container\'s filesystem driver, deleted afterwards', () => {
    const r = attach([plain, '--method', 'upload', '--', 'sh', '-c', 'ls /.dbox/bin | grep -c .'], env());
    expect(r.status).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(100);
    expect(traces(plain)).toEqual({diff: '', mounts: 0});
  });

  it('kill -9 during an attach, then attach --cleanup removes what was left', async () => {
    const child = spawn(process.execPath, [dboxPath, 'attach', noshell, '--', 'sleep', '1000'], {env: {...process.env, ...env()}, stdio: 'ignore'});
    for (let i = 0; i < 100 && traces(noshell).mounts === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(traces(noshell).mounts).toBe(1);
    const helper = Number(execFileSync('pgrep', ['-P', String(child.pid), '-f', 'dbox-attach'], {encoding: 'utf8'}).trim());
    process.kill(helper, 'SIGKILL');
    child.kill('SIGKILL');
    killInContainer(noshell, 'sleep 1000');
    expect(traces(noshell).mounts).toBe(1);
    const r = attach([noshell, '--cleanup'], env());
    expect(r.stdout).toBe(`attach: removed what an earlier attach left in ${noshell}\n`);
    expect(traces(noshell)).toEqual({diff: '', mounts: 0});
    expect(attach([noshell, '--cleanup'], env()).stdout).toBe(`attach: nothing left in ${noshell}\n`);
  });

  it('attach --cleanup while an attach runs leaves it alone and says so', async () => {
    const child = spawn(process.execPath, [dboxPath, 'attach', noshell, '--', 'sleep', '1000'], {env: {...process.env, ...env()}, stdio: 'ignore'});
    for (let i = 0; i < 100 && traces(noshell).mounts === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(traces(noshell).mounts).toBe(1);
    const r = attach([noshell, '--cleanup'], env());
    expect(r.stderr).toBe(`attach: an attach to this container is still running\nattach: cleanup of ${noshell} failed\n`);
    expect(r.status).toBe(1);
    expect(traces(noshell).mounts).toBe(1);
    killInContainer(noshell, 'sleep 1000');
    await new Promise((resolve) => child.on('exit', resolve));
    expect(traces(noshell)).toEqual({diff: '', mounts: 0});
  });

  it('bad input: clear errors, nothing left', () => {
    // A stopped container is attached as a snapshot of its layers (attach-snapshot.test.ts).
    const cases: [string[], string][] = [
      [[noshell.replace('noshell', 'noshel')], `attach: no such container or image: ${noshell.replace('noshell', 'noshel')} (did you mean '${noshell}'?)\n`],
      [[noshell, '/nonexistent-dir'], 'attach: /nonexistent-dir: No such file or directory\n'],
      [[noshell, '/etc/passwd'], 'attach: /etc/passwd: Not a directory\n'],
      [[noshell, '--at', '/app/data.txt', '--', 'true'], 'attach: /app/data.txt exists in the container and is not a directory\n'],
      [[noshell, '--method', 'teleport'], "attach: invalid method 'teleport' (auto, mount-api, blockdev, helper or upload)\nTry 'help attach' for more information.\n"],
    ];
    for (const [args, stderr] of cases) {
      const r = attach(args, env());
      expect({args, stderr: r.stderr}).toEqual({args, stderr});
      expect(r.status).not.toBe(0);
    }
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-empty-'));
    const noBusybox = attach([noshell], {XDG_DATA_HOME: empty, DBOX_BUSYBOX: '/bin/ls'});
    fs.rmSync(empty, {recursive: true, force: true});
    expect(noBusybox.stderr).toBe("attach: no static busybox for the toolbox (/bin/ls is dynamically linked): install Debian's busybox-static (`sudo apt-get install busybox-static`), or give attach a HOSTDIR of static tools\n");
    const notRoot = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, dboxPath, 'attach', noshell, '/tmp', '--method', 'mount-api'], {encoding: 'utf8'});
    expect(notRoot.status).not.toBe(0);
    expect(notRoot.stderr).toMatch(/^(attach: the mount-api method needs root \(CAP_SYS_ADMIN to enter the container's mount namespace\)|dbox: cannot connect to the Docker engine .*)\n/);
    expect(traces(noshell)).toEqual({diff: '', mounts: 0});
  });

  it('leaves no state file on the host, whatever ended the attaches above', () => {
    const dir = '/run/dbox/attach';
    const left = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    for (const name of [noshell, readonly, plain]) expect(left).not.toContain(`${docker('inspect', '-f', '{{.Id}}', name)}.state`);
  });

  it('an interactive shell through a real terminal', async () => {
    const session = `dbox-attach-${process.pid}`;
    spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '120', '-y', '40',
      `XDG_DATA_HOME=${dataHome} ${process.execPath} ${dboxPath} attach ${noshell}`]);
    try {
      const screen = (): string => execFileSync('tmux', ['capture-pane', '-t', session, '-p'], {encoding: 'utf8'});
      const waitFor = async (re: RegExp): Promise<string> => {
        for (let i = 0; i < 100; i++) {
          const s = screen();
          if (re.test(s)) return s;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`screen never matched ${re}:\n${screen()}`);
      };
      await waitFor(/[#$]\s*$/m); // capture-pane drops the prompt's trailing space
      spawnSync('tmux', ['send-keys', '-t', session, 'ps', 'Enter']);
      expect(await waitFor(/\/app\/sleep 2147483647/)).toMatch(/PID\s+USER\s+COMMAND/);
      spawnSync('tmux', ['send-keys', '-t', session, 'exit', 'Enter']);
      for (let i = 0; i < 50 && spawnSync('tmux', ['has-session', '-t', session]).status === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(spawnSync('tmux', ['has-session', '-t', session]).status).not.toBe(0); // dbox exited with the shell
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
    expect(traces(noshell)).toEqual({diff: '', mounts: 0});
  });
});

describe.runIf(hasEngine)('attach --method upload for a user of the docker group (the engine driver; auto uses the helper, attach-helper.test.ts)', () => {
  let fixture: Fixture;
  let noshell: string;
  let user: string;
  let home: string;
  let ids: {uid: number; gid: number; docker: number};
  const asUser = (args: string[], extra: string[] = []) =>
    spawnSync('setpriv', [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, `--groups=${ids.docker}`, 'env', `HOME=${home}`, `XDG_DATA_HOME=${home}/share`,
      ...extra, process.execPath, dboxPath, 'attach', ...args], {encoding: 'utf8', input: '', cwd: home, timeout: 120_000});

  beforeAll(() => {
    fixture = makeFixture('attach-upload');
    noshell = `dbox-attach-up-noshell-${process.pid}`;
    docker('run', '-d', '--network', 'none', '--name', noshell, 'dbox-test/noshell');
    user = `dboxup${process.pid % 100000}`;
    execFileSync('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', '-G', 'docker', user]);
    ids = {uid: Number(execFileSync('id', ['-u', user], {encoding: 'utf8'})), gid: Number(execFileSync('id', ['-g', user], {encoding: 'utf8'})),
      docker: Number(execFileSync('getent', ['group', 'docker'], {encoding: 'utf8'}).split(':')[2])};
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
    fs.chownSync(home, ids.uid, ids.gid);
    fs.chmodSync(home, 0o700);
  });
  afterAll(() => {
    spawnSync('docker', ['rm', '-f', noshell], {stdio: 'ignore'});
    fixture?.cleanup();
    removeUser(user);
    if (home) fs.rmSync(home, {recursive: true, force: true});
  });

  it('copies in through the archive API, runs, and removes the copy even where the container has no rm', () => {
    const r = asUser([noshell, '--verbose', '--method', 'upload', '--', 'sh', '-c', 'ls /.dbox/bin | grep -c .; cat /.dbox/.dbox-upload | grep -c .']);
    expect(r.stderr).toBe(`attach: ${noshell}: trying upload\nattach: ${noshell}: used upload\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d{3}\n1\n$/);
    expect(docker('diff', noshell)).toBe('');
    // The user's state lives in a directory of the user's own, 0700, and is gone again.
    const state = path.join(home, '.cache/dbox/attach');
    expect(fs.statSync(state).mode & 0o7777).toBe(0o700);
    expect(fs.statSync(state).uid).toBe(ids.uid);
    expect(fs.readdirSync(state)).toEqual([]);
  });

  it('after dbox is killed, attach --cleanup removes the copy it can prove is its own (its marker)', async () => {
    const child = spawn('setpriv', [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, `--groups=${ids.docker}`, 'env', `HOME=${home}`,
      `XDG_DATA_HOME=${home}/share`, process.execPath, dboxPath, 'attach', noshell, '--method', 'upload', '--', 'sleep', '1000'], {stdio: 'ignore', cwd: home});
    for (let i = 0; i < 200 && !docker('diff', noshell).includes('/.dbox/bin/busybox'); i++) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 200 && spawnSync('pgrep', ['-f', `^${process.execPath} ${dboxPath} attach ${noshell} `]).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    const dbox = Number(execFileSync('pgrep', ['-f', `^${process.execPath} ${dboxPath} attach ${noshell} `], {encoding: 'utf8'}).trim());
    process.kill(dbox, 'SIGKILL');
    await new Promise((r) => child.on('exit', r));
    killInContainer(noshell, 'sleep 1000');
    expect(docker('diff', noshell)).toContain('A /.dbox');
    const r = asUser([noshell, '--cleanup']);
    expect(r.stdout).toBe(`attach: removed what an earlier attach left in ${noshell}\n`);
    expect(docker('diff', noshell)).toBe('');
    expect(asUser([noshell, '--cleanup']).stdout).toBe(`attach: nothing left in ${noshell}\n`);
  });
});
