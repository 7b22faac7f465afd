// An ssh:// endpoint: an sshd of the test's own on a loopback port in front of this machine's
// engine (docker-modem runs `docker system dial-stdio` through it), keys from an ssh-agent; attach
// through it reaches the engine's host with a helper container.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dbox, docker, requireEngine} from './engine.js';
import {writeContext} from '../../harness/remote-engine.js';

const hasEngine = requireEngine();
const hasSsh = fs.existsSync('/usr/sbin/sshd') && spawnSync('ssh-agent', ['-k'], {stdio: 'ignore'}).error === undefined;
if (hasEngine && process.env['CI'] === 'true' && !hasSsh) throw new Error('CI=true but sshd is missing: run scripts/engine.sh up');

describe.runIf(hasEngine && hasSsh)('an ssh:// endpoint', () => {
  let dir: string;
  let port: number;
  let sshdPid: number;
  let agentPid: number;
  let env: NodeJS.ProcessEnv;
  const name = `ssh-${process.pid}`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-ssh-'));
    port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    for (const key of ['hostkey', 'userkey']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, key)]);
    fs.copyFileSync(path.join(dir, 'userkey.pub'), path.join(dir, 'authorized_keys'));
    fs.writeFileSync(path.join(dir, 'sshd_config'), [`ListenAddress 127.0.0.1`, `Port ${port}`, `HostKey ${dir}/hostkey`,
      `PidFile ${dir}/sshd.pid`, `AuthorizedKeysFile ${dir}/authorized_keys`, 'PermitRootLogin prohibit-password',
      'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', ''].join('\n'));
    fs.mkdirSync('/run/sshd', {recursive: true});
    execFileSync('/usr/sbin/sshd', ['-f', path.join(dir, 'sshd_config'), '-E', path.join(dir, 'sshd.log')]);
    for (let i = 0; i < 50 && !fs.existsSync(path.join(dir, 'sshd.pid')); i++) await new Promise((r) => setTimeout(r, 50));
    sshdPid = Number(fs.readFileSync(path.join(dir, 'sshd.pid'), 'utf8'));
    const sock = path.join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], {stdio: 'ignore'});
    agentPid = agent.pid!;
    for (let i = 0; i < 50 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    execFileSync('ssh-add', ['-q', path.join(dir, 'userkey')], {env: {...process.env, SSH_AUTH_SOCK: sock}});
    env = {SSH_AUTH_SOCK: sock, HOME: dir};
    docker('run', '-d', '--network', 'none', '--name', name, 'dbox-test/busybox', 'sleep', '2147483647');
  }, 60_000);
  afterAll(() => {
    spawnSync('docker', ['rm', '-f', name], {stdio: 'ignore'});
    for (const pid of [sshdPid, agentPid]) {
      try {
        if (pid) process.kill(pid);
      } catch { /* gone */ }
    }
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  it('DOCKER_HOST=ssh://… lists and reads containers through the engine API', () => {
    const r = dbox(`ls /containers; cat /containers/${name}/etc/motd`, {env: {...env, DOCKER_HOST: `ssh://root@127.0.0.1:${port}`}});
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toContain(name);
    expect(r.stdout).toContain('Welcome to a dbox fixture container');
  });

  it('attach over ssh: the toolbox mounted by a helper container (the terminal bridge over ssh), nothing left', () => {
    const r = dbox(`attach ${name} --verbose -- sh -c 'cat /etc/motd; ls /.dbox/bin | grep -c .'`,
      {env: {...env, DOCKER_HOST: `ssh://root@127.0.0.1:${port}`}});
    expect(r.stderr).toBe(`attach: ${name}: trying helper\nattach: ${name}: used helper\n`);
    expect(r.stdout).toMatch(/^Welcome to a dbox fixture container\n\d{3}\n$/);
    expect(docker('diff', name)).toBe('');
    const label = `label=dbox.attach=${docker('inspect', '-f', '{{.Id}}', name)}`;
    expect(docker('ps', '-aq', '--filter', label) + docker('images', '-q', '--filter', label)).toBe('');
  });

  it('an ssh context under /hosts', () => {
    writeContext(dir, 'viassh', `ssh://root@127.0.0.1:${port}`);
    const r = dbox(`ls -l /hosts; cat /hosts/viassh/${name}/data/hello.txt`, {env});
    expect(r.stdout).toMatch(new RegExp(`^reachable +ssh://root@127\\.0\\.0\\.1:${port} +viassh$`, 'm'));
    expect(r.stdout).toContain('hello from the container');
  });
});
