// dbox against Podman's Docker-compatible API (podman system service on a unix socket).
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dbox, requireEngine} from './engine.js';

const hasEngine = requireEngine();
const hasPodman = spawnSync('podman', ['--version'], {stdio: 'ignore'}).status === 0;
if (hasEngine && process.env['CI'] === 'true' && !hasPodman) throw new Error('CI=true but podman is missing: run scripts/engine.sh up');

describe.runIf(hasEngine && hasPodman)('Podman', () => {
  let dir: string;
  let service: ChildProcess;
  let env: NodeJS.ProcessEnv;
  const running = `pod-run-${process.pid}`;
  const stopped = `pod-stop-${process.pid}`;
  const image = `localhost/dbox-test/podman-${process.pid}`;
  const podman = (...args: string[]): string => execFileSync('podman', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-podman-'));
    const socket = path.join(dir, 'podman.sock');
    service = spawn('podman', ['system', 'service', '-t', '0', `unix://${socket}`], {stdio: 'ignore'});
    for (let i = 0; i < 80 && !fs.existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
    env = {DOCKER_HOST: `unix://${socket}`, XDG_RUNTIME_DIR: dir};
    execFileSync('sh', ['-c', `docker save dbox-test/busybox | podman load -q && podman tag localhost/dbox-test/busybox ${image}`], {stdio: 'ignore'});
    // The sandbox forbids raising these limits above the defaults podman would ask for.
    podman('run', '-d', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--name', running, image, 'sleep', '2147483647');
    podman('create', '--network', 'none', '--name', stopped, image, 'sleep', '1');
  }, 120_000);
  afterAll(() => {
    spawnSync('podman', ['rm', '-f', running, stopped], {stdio: 'ignore'});
    spawnSync('podman', ['rmi', '-f', image], {stdio: 'ignore'});
    service?.kill();
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  it('lists running and stopped containers, and reads both', () => {
    const ls = dbox('ls -l /containers', {env});
    expect(ls.stdout).toMatch(new RegExp(`^running +${image}:latest +[0-9a-f]{12} .* ${running}$`, 'm'));
    expect(ls.stdout).toMatch(new RegExp(`^created +${image}:latest .* ${stopped}$`, 'm'));
    expect(dbox(`cat /containers/${running}/etc/motd /containers/${stopped}/data/hello.txt`, {env}).stdout).toBe(
      'Welcome to a dbox fixture container\nhello from the container\n');
  });

  it('writes into running and stopped containers, and copies out', () => {
    const src = path.join(dir, 'in.txt');
    fs.writeFileSync(src, 'into podman\n');
    expect(dbox(`cp ${src} /containers/${running}/tmp/ && cp ${src} /containers/${stopped}/tmp/`, {env}).status).toBe(0);
    expect(podman('exec', running, 'cat', '/tmp/in.txt')).toBe('into podman');
    expect(dbox(`cat /containers/${stopped}/tmp/in.txt`, {env}).stdout).toBe('into podman\n');
    expect(dbox(`cp -r /containers/${stopped}/data ${dir}/out`, {env}).status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out/hello.txt'), 'utf8')).toBe('hello from the container\n');
  });

  it('changes a stopped container where its API can, and says so where it cannot', () => {
    const src = path.join(dir, 'm.txt');
    fs.writeFileSync(src, 'moved\n');
    const tmp = `/containers/${stopped}/tmp`;
    expect(dbox(`cp ${src} ${tmp}/m && chmod 600 ${tmp}/m && stat -c %a ${tmp}/m`, {env})).toMatchObject({status: 0, stdout: '600\n'});
    // Podman refuses the entry that removes before removing anything: a rename is refused whole.
    const mv = dbox(`mv ${tmp}/m ${tmp}/n`, {env});
    expect(mv.status).not.toBe(0);
    expect(mv.stderr).toContain('Read-only file system');
    expect(dbox(`ls ${tmp}`, {env}).stdout.split('\n')).toEqual(expect.arrayContaining(['m']));
    expect(dbox(`ls ${tmp}`, {env}).stdout.split('\n')).not.toContain('n');
  });

  it('external commands over the mount, and attach', () => {
    expect(dbox(`grep -c Welcome /containers/${running}/etc/motd`, {env})).toMatchObject({status: 0, stdout: '1\n'});
    const r = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/dbox.js'), 'attach', running, '--', 'sh', '-c', 'ps'],
      {encoding: 'utf8', env: {...process.env, ...env}});
    expect(r.stdout).toMatch(/^\s+1 root\s+sleep 2147483647$/m);
  });
});
