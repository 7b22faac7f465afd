// attach --method helper on real engines: a non-root user of the docker group (made here) and a
// second dockerd reached over TLS get the toolbox mounted read-only in the target by a helper
// container on the engine's host — nothing uploaded, `docker diff` empty, no helper container or
// image left — in a shell-less and a read-only container; a real terminal (resize, exit status);
// dbox (and its terminal bridge) killed mid-attach; snapshots of a stopped container and an image
// made on the engine's host; and a helper told the pid of another container's process (or of a
// host process) refuses: the process's identity is proven on the helper's side, whatever the
// engine claims.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {Engine} from '../../src/docker/engine.js';
import {endpointOf} from '../../src/docker/endpoints.js';
import {helperCaps, makeHelper, removeHelper} from '../../src/attach/helper-container.js';
import {ensureToolbox} from '../../src/attach/toolbox.js';
import {runCaptured} from '../../src/shell/run-program.js';
import {dboxPath, docker, makeFixture, removeUser, requireEngine, type Fixture} from './engine.js';
import {startRemoteEngine, type RemoteEngine} from '../../harness/remote-engine.js';

const hasEngine = requireEngine();

/** What is left of attach helpers for one target on an engine: containers and images (labelled with its id,
 *  so that other tests' helpers running meanwhile do not count). */
const helpersLeft = (run: (...args: string[]) => string, target: string): string => {
  const label = `label=dbox.attach=${run('inspect', '-f', '{{.Id}}', target)}`;
  return run('ps', '-aq', '--filter', label) + run('images', '-q', '--filter', label);
};

/** Mounts of the toolbox in a container's mount table (read on the host). */
const toolboxMounts = (run: (...args: string[]) => string, name: string): number => {
  const pid = run('inspect', '-f', '{{.State.Pid}}', name);
  return fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter((l) => / \/\.dbox /.test(l)).length;
};

describe.runIf(hasEngine)('attach through a helper container: a non-root user of the docker group', () => {
  let fixture: Fixture;
  let noshell: string;
  let readonly: string;
  let user: string;
  let home: string;
  let ids: {uid: number; gid: number; docker: number};
  const asUser = (args: string[]) =>
    spawnSync('setpriv', [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, `--groups=${ids.docker}`, 'env', `HOME=${home}`,
      `XDG_DATA_HOME=${home}/share`, process.execPath, dboxPath, 'attach', ...args], {encoding: 'utf8', input: '', cwd: home, timeout: 120_000});

  beforeAll(() => {
    fixture = makeFixture('attach-helper');
    noshell = `dbox-helper-noshell-${process.pid}`;
    docker('run', '-d', '--network', 'none', '--name', noshell, 'dbox-test/noshell');
    readonly = fixture.run('ro', '--read-only');
    user = `dboxah${process.pid % 100000}`;
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

  it('mounts the toolbox in a shell-less container, runs in its namespaces, and leaves nothing', () => {
    const r = asUser([noshell, '--verbose', '--', 'sh', '-c', 'ls /app; ps; grep -c " /.dbox " /proc/self/mountinfo; touch /.dbox/x; exit 3']);
    expect(r.stderr).toBe(`attach: ${noshell}: trying helper\ntouch: /.dbox/x: Read-only file system\nattach: ${noshell}: used helper\n`);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('data.txt\nsleep\n');
    expect(r.stdout).toMatch(/\n\s+1 0\s+\/app\/sleep 2147483647\n/); // the container's PID namespace
    expect(r.stdout).toMatch(/\n1\n$/); // one mount of the toolbox while it ran
    expect(docker('diff', noshell)).toBe('');
    expect(toolboxMounts(docker, noshell)).toBe(0);
    expect(helpersLeft(docker, noshell)).toBe('');
  });

  it('a read-only container: the target made through a private clone, gone again', () => {
    const r = asUser([readonly, '--', 'sh', '-c', 'ls /.dbox/bin | grep -c .; touch /probe']);
    expect(r.stdout.trim()).toMatch(/^\d{3}$/);
    expect(r.stderr).toBe('touch: /probe: Read-only file system\n');
    expect(docker('diff', readonly)).toBe('');
    expect(toolboxMounts(docker, readonly)).toBe(0);
    expect(helpersLeft(docker, readonly)).toBe('');
  });

  it('a real terminal: the program gets it, a resize reaches it, and its status comes back', async () => {
    const session = `dbox-helper-${process.pid}`;
    const out = path.join(home, 'status');
    spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '30',
      `setpriv --reuid=${ids.uid} --regid=${ids.gid} --groups=${ids.docker} env HOME=${home} XDG_DATA_HOME=${home}/share ` +
      `${process.execPath} ${dboxPath} attach ${noshell}; echo status=$? > ${out}; sleep 30`]);
    try {
      const screen = (): string => execFileSync('tmux', ['capture-pane', '-t', session, '-p'], {encoding: 'utf8'});
      const waitFor = async (re: RegExp): Promise<string> => {
        for (let i = 0; i < 300; i++) {
          const s = screen();
          if (re.test(s)) return s;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`screen never matched ${re}:\n${screen()}`);
      };
      /** The size the program's terminal reports, asked until it is `want` (the size travels to the engine
       *  after the program has started, as docker's own CLI sends it: a prompt may come first). */
      const sizeBecomes = async (want: string): Promise<void> => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          spawnSync('tmux', ['send-keys', '-t', session, 'clear; stty size', 'Enter']);
          for (let i = 0; i < 10; i++) {
            if (new RegExp(`^${want}$`, 'm').test(screen())) return;
            await new Promise((r) => setTimeout(r, 100));
          }
          if (Date.now() > deadline) throw new Error(`the terminal's size never became ${want}:\n${screen()}`);
        }
      };
      await waitFor(/[#$]\s*$/m);
      await sizeBecomes('30 100');
      spawnSync('tmux', ['resize-window', '-t', session, '-x', '90', '-y', '25']);
      await sizeBecomes('25 90');
      spawnSync('tmux', ['send-keys', '-t', session, 'exit 5', 'Enter']);
      for (let i = 0; i < 300 && !fs.existsSync(out); i++) await new Promise((r) => setTimeout(r, 100));
      expect(fs.readFileSync(out, 'utf8')).toBe('status=5\n');
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
    expect(docker('diff', noshell)).toBe('');
    expect(helpersLeft(docker, noshell)).toBe('');
  });

  it('dbox killed mid-attach: the helper still unmounts when the program ends; with the bridge killed too, the next attach removes the helper', async () => {
    const killInTarget = (args: string): void => {
      for (const line of docker('top', noshell, '-eo', 'pid,args').split('\n').slice(1)) {
        const m = /^\s*(\d+)\s+(.*)$/.exec(line);
        if (m && m[2] === args) process.kill(Number(m[1]), 'SIGKILL');
      }
    };
    const waitUntil = async (what: string, check: () => boolean): Promise<void> => {
      for (let i = 0; !check(); i++) {
        if (i > 600) throw new Error(`timed out waiting until ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const id = docker('inspect', '-f', '{{.Id}}', noshell);
    const helpers = (): string[] => docker('ps', '-aq', '--filter', `label=dbox.attach=${id}`).split('\n').filter(Boolean);
    for (const killBridge of [false, true]) {
      const child = spawn('setpriv', [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, `--groups=${ids.docker}`, 'env', `HOME=${home}`,
        `XDG_DATA_HOME=${home}/share`, process.execPath, dboxPath, 'attach', noshell, '--', 'sleep', '1000'], {stdio: 'ignore', cwd: home});
      await waitUntil('the toolbox is mounted', () => toolboxMounts(docker, noshell) === 1);
      const dbox = Number(execFileSync('pgrep', ['-f', `^${process.execPath} ${dboxPath} attach ${noshell} `], {encoding: 'utf8'}).trim());
      const bridge = Number(execFileSync('pgrep', ['-P', String(dbox), '-f', 'attach-bridge'], {encoding: 'utf8'}).trim());
      process.kill(dbox, 'SIGKILL');
      if (killBridge) process.kill(bridge, 'SIGKILL');
      await new Promise((r) => child.on('exit', r));
      expect(toolboxMounts(docker, noshell)).toBe(1); // the program still runs, with its toolbox
      killInTarget('sleep 1000');
      await waitUntil('the helper unmounted the toolbox', () => toolboxMounts(docker, noshell) === 0);
      if (killBridge) {
        await waitUntil('the helper exited', () => helpers().length === 1 && docker('inspect', '-f', '{{.State.Status}}', helpers()[0]!) === 'exited');
        expect(asUser([noshell, '--', 'true']).status).toBe(0); // removes the one a killed dbox left
      }
      await waitUntil('no helper is left', () => helpers().length === 0);
      expect(docker('diff', noshell)).toBe('');
    }
    expect(helpersLeft(docker, noshell)).toBe('');
  });

  it('a stopped container and an image: a snapshot made on the engine\'s host, the write inside gone, nothing left', () => {
    const stopped = fixture.create('stopped');
    const diff = docker('diff', stopped);
    for (const [target, label] of [[stopped, stopped], [fixture.tag, fixture.tag]] as const) {
      const r = asUser([target, '--', 'sh', '-c', 'echo x > /etc/passwd; cat /etc/passwd; echo $(hostname)']);
      expect({target, stderr: r.stderr, status: r.status}).toEqual({target, stderr: '', status: 0});
      expect(r.stdout).toMatch(/^x\n\S+\n$/);
      const again = asUser([target, '--', 'head', '-1', '/etc/passwd']);
      expect(again.stdout).toBe('root:x:0:0:root:/root:/bin/sh\n');
      expect(helpersLeft(docker, label)).toBe('');
    }
    expect(docker('diff', stopped)).toBe(diff);
  });

  it('a helper told the pid of another container\'s process, or of a host process, refuses and mounts nothing', async () => {
    const engine = new Engine(endpointOf('default', 'unix:///var/run/docker.sock'));
    const target = docker('inspect', '-f', '{{.Id}}', noshell);
    const impostor = Number(docker('inspect', '-f', '{{.State.Pid}}', readonly)); // a process of another container
    for (const pid of [impostor, process.pid]) {
      const id = await makeHelper(engine, {id: target, pid, caps: helperCaps(await engine.inspectRaw('containers', target)),
        toolbox: await ensureToolbox(runCaptured), at: '/.dbox', command: ['/.dbox/bin/sh', '-c', 'echo reached'], tty: false});
      try {
        docker('start', id);
        expect(docker('wait', id)).toBe('125');
        const logs = spawnSync('docker', ['logs', id], {encoding: 'utf8'});
        expect(`${logs.stdout}${logs.stderr}`).not.toContain('reached');
      } finally {
        await removeHelper(engine, id);
      }
      expect(docker('diff', noshell)).toBe('');
      expect(toolboxMounts(docker, noshell)).toBe(0);
      expect(toolboxMounts(docker, readonly)).toBe(0);
    }
    expect(helpersLeft(docker, noshell)).toBe('');
  });
});

describe.runIf(hasEngine)('attach through a helper container on a TLS engine', () => {
  let remote: RemoteEngine;
  let home: string;
  const noshell = `helper-noshell-${process.pid}`;
  const readonly = `helper-ro-${process.pid}`;
  const attach = (args: string[]) => spawnSync(process.execPath, [dboxPath, 'attach', ...args],
    {encoding: 'utf8', input: '', env: {...process.env, HOME: home, DOCKER_CONTEXT: 'remote',
      XDG_DATA_HOME: path.join(os.homedir(), '.local/share')}, timeout: 120_000});

  beforeAll(async () => {
    remote = await startRemoteEngine();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
    remote.context(home, 'remote');
    // A lone static busybox with no applet links: nothing to run as `sh`.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-noshell-'));
    try {
      fs.copyFileSync('/bin/busybox', path.join(root, 'busybox'));
      fs.mkdirSync(path.join(root, 'data'));
      fs.writeFileSync(path.join(root, 'data', 'hello.txt'), 'hello\n');
      execFileSync('sh', ['-c', `tar -C '${root}' -c . | docker -H unix://${remote.socket} import - dbox-test/helper-noshell`], {stdio: 'ignore'});
    } finally {
      fs.rmSync(root, {recursive: true, force: true});
    }
    remote.docker('run', '-d', '--network', 'none', '--name', noshell, 'dbox-test/helper-noshell', '/busybox', 'sleep', '2147483647');
    remote.docker('run', '-d', '--network', 'none', '--read-only', '--name', readonly, 'dbox-test/helper-noshell', '/busybox', 'sleep', '2147483647');
  }, 180_000);
  afterAll(() => {
    remote?.stop();
    if (home) fs.rmSync(home, {recursive: true, force: true});
  });

  it('a shell-less and a read-only container: the toolbox mounted, nothing uploaded, nothing left', () => {
    expect(spawnSync('docker', ['-H', `unix://${remote.socket}`, 'exec', noshell, 'sh', '-c', 'true']).status).not.toBe(0);
    for (const c of [noshell, readonly]) {
      const r = attach([c, '--verbose', '--', 'sh', '-c', 'cat /data/hello.txt; tr "\\0" " " < /proc/1/cmdline; echo; touch /.dbox/x']);
      expect(r.stderr).toBe(`attach: ${c}: trying helper\ntouch: /.dbox/x: Read-only file system\nattach: ${c}: used helper\n`);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('hello\n/busybox sleep 2147483647 \n'); // the container's PID namespace: its pid 1
      expect(remote.docker('diff', c)).toBe('');
      expect(toolboxMounts(remote.docker, c)).toBe(0);
      expect(helpersLeft(remote.docker, c)).toBe('');
    }
  });

  it('a stopped container and an image on the TLS engine: snapshots, nothing left', () => {
    remote.docker('create', '--network', 'none', '--name', `${noshell}-stopped`, 'dbox-test/helper-noshell', '/busybox', 'true');
    try {
      for (const target of [`${noshell}-stopped`, 'dbox-test/helper-noshell']) {
        const r = attach([target, '--', 'sh', '-c', 'cat /data/hello.txt; echo changed > /data/hello.txt; cat /data/hello.txt']);
        expect({target, stderr: r.stderr, status: r.status}).toEqual({target, stderr: '', status: 0});
        expect(r.stdout).toBe('hello\nchanged\n');
        expect(attach([target, '--', 'cat', '/data/hello.txt']).stdout).toBe('hello\n');
        expect(helpersLeft(remote.docker, target)).toBe('');
      }
      expect(remote.docker('diff', `${noshell}-stopped`)).toBe('');
    } finally {
      remote.docker('rm', '-f', `${noshell}-stopped`);
    }
  });

  it('--method upload goes through the engine driver and its exec (no docker CLI): a read-only root refuses it', () => {
    const ok = attach([noshell, '--method', 'upload', '--', 'sh', '-c', 'cat /.dbox/.dbox-upload | grep -c .']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('1\n');
    expect(remote.docker('diff', noshell)).toBe('');
    const ro = attach([readonly, '--method', 'upload', '--', 'true']);
    expect(ro.status).toBe(1);
    expect(ro.stderr).toMatch(/^attach: cannot copy the toolbox into .*Read-only file system/);
    expect(remote.docker('diff', readonly)).toBe('');
  });
});
