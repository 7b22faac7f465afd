// Beyond one local engine: a second dockerd on TLS loopback, reached through a docker context.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dbox, docker, requireEngine} from './engine.js';
import {makeCerts, startRemoteEngine, writeContext, type RemoteEngine} from '../../harness/remote-engine.js';

const hasEngine = requireEngine();

describe.runIf(hasEngine)('a remote engine over TLS, through a context', () => {
  let remote: RemoteEngine;
  let home: string;
  let running: string;
  let stopped: string;
  let local: string;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({HOME: home, ...extra});

  beforeAll(async () => {
    remote = await startRemoteEngine();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
    remote.context(home, 'remote');
    writeContext(home, 'dead', 'tcp://127.0.0.1:1', remote.certs);
    // Wrong TLS material: a client certificate from another CA.
    const other = path.join(home, 'other-certs');
    makeCerts(other, 'other');
    remote.context(home, 'wrongtls', other);
    // The fixture image, moved over without a registry.
    execSh(`docker save dbox-test/busybox | docker -H unix://${remote.socket} load -q`);
    running = `r-run-${process.pid}`;
    stopped = `r-stop-${process.pid}`;
    remote.docker('run', '-d', '--network', 'none', '--name', running, 'dbox-test/busybox', 'sleep', '2147483647');
    remote.docker('create', '--network', 'none', '--name', stopped, 'dbox-test/busybox', 'sleep', '1');
    local = `l-${process.pid}`;
    docker('run', '-d', '--network', 'none', '--name', local, 'dbox-test/busybox', 'sleep', '2147483647');
  }, 180_000);
  afterAll(() => {
    docker('rm', '-f', local);
    remote?.stop();
    if (home) fs.rmSync(home, {recursive: true, force: true});
  });

  it('/hosts lists the contexts with their reachability', () => {
    expect(dbox('ls /hosts', {env: env()}).stdout).toBe('dead\ndefault\nremote\nwrongtls\n');
    const long = dbox('ls -l /hosts', {env: env()}).stdout;
    expect(long).toMatch(/^unreachable +tcp:\/\/127\.0\.0\.1:1 +dead$/m);
    expect(long).toMatch(/^reachable +unix:\/\/\/var\/run\/docker\.sock +default$/m);
    expect(long).toMatch(new RegExp(`^reachable +${remote.address.replace(/\./g, '\\.')} +remote$`, 'm'));
    expect(long).toMatch(/^unreachable .* wrongtls$/m);
  });

  it('lists and reads containers of the remote engine, running and stopped', () => {
    expect(dbox('ls /hosts/remote', {env: env()}).stdout).toBe(`${running}\n${stopped}\n`);
    expect(dbox(`cat /hosts/remote/${running}/etc/motd /hosts/remote/${stopped}/etc/motd`, {env: env()}).stdout).toBe(
      'Welcome to a dbox fixture container\n'.repeat(2));
    expect(dbox(`ls /hosts/remote/${stopped}/data`, {env: env()}).stdout).toBe('dir with space\nhello.txt\n');
  });

  it('the current context is /containers (DOCKER_CONTEXT, config.json)', () => {
    expect(dbox('ls /containers', {env: env({DOCKER_CONTEXT: 'remote'})}).stdout).toBe(`${running}\n${stopped}\n`);
    fs.mkdirSync(path.join(home, '.docker'), {recursive: true});
    fs.writeFileSync(path.join(home, '.docker/config.json'), JSON.stringify({currentContext: 'remote'}));
    expect(dbox(`cat /containers/${running}/etc/motd`, {env: env()}).status).toBe(0);
    fs.rmSync(path.join(home, '.docker/config.json'));
  });

  it('writes to remote containers, and copies between the engines both ways', () => {
    const src = path.join(home, 'upload.txt');
    fs.writeFileSync(src, 'from the host\n');
    expect(dbox(`cp ${src} /hosts/remote/${running}/tmp/`, {env: env()})).toMatchObject({status: 0, stderr: ''});
    expect(remote.docker('exec', running, 'cat', '/tmp/upload.txt')).toBe('from the host');
    expect(dbox(`cp ${src} /hosts/remote/${stopped}/tmp/`, {env: env()}).status).toBe(0);
    expect(dbox(`cat /hosts/remote/${stopped}/tmp/upload.txt`, {env: env()}).stdout).toBe('from the host\n');
    expect(dbox(`cp -r /containers/${local}/data /hosts/remote/${running}/tmp/`, {env: env()})).toMatchObject({status: 0, stderr: ''});
    expect(remote.docker('exec', running, 'cat', '/tmp/data/dir with space/file one.txt')).toBe('spaced');
    expect(dbox(`cp /hosts/remote/${running}/tmp/upload.txt /containers/${local}/tmp/`, {env: env()}).status).toBe(0);
    // Into a running container the upload goes to a temporary name and is renamed into place.
    expect(remote.docker('exec', running, 'ls', '-a', '/tmp')).not.toMatch(/\.dbox-/);
    expect(docker('exec', local, 'cat', '/tmp/upload.txt')).toBe('from the host');
  });

  it('external commands and completion reach /hosts too', async () => {
    const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-run-'));
    try {
      const r = dbox(`diff /hosts/remote/${running}/etc/motd /containers/${local}/etc/motd && grep -c Welcome /hosts/remote/${stopped}/etc/motd`,
        {env: env({XDG_RUNTIME_DIR: runtime})});
      expect(r).toMatchObject({status: 0, stdout: '1\n'});
    } finally {
      fs.rmSync(runtime, {recursive: true, force: true});
    }
    const {complete} = await import('../../src/shell/complete.js');
    const {namespaceSource} = await import('../../src/shell/completion-source.js');
    const {Namespace} = await import('../../src/vfs/namespace.js');
    const {Engine} = await import('../../src/docker/engine.js');
    const {defaultEndpoint} = await import('../../src/docker/endpoints.js');
    const saved = process.env['HOME'];
    process.env['HOME'] = home; // the contexts live in this HOME
    try {
      const source = namespaceSource(new Namespace(new Engine(defaultEndpoint({}))), process.env, []);
      const line = `cat /hosts/rem`;
      const c = await complete(line, line.length, {cwd: '/', home}, source);
      expect(c?.insert).toBe('/hosts/remote/');
      const inside = `cat /hosts/remote/${running.slice(0, 5)}`;
      expect((await complete(inside, inside.length, {cwd: '/', home}, source))?.insert).toBe(`/hosts/remote/${running}/`);
    } finally {
      process.env['HOME'] = saved;
    }
  });

  it('an unreachable endpoint or wrong TLS material fails with its name; the rest keep working', () => {
    const dead = dbox('ls /hosts/dead', {env: env()});
    expect(dead.status).toBe(1);
    expect(dead.stderr).toMatch(/^dbox: cannot connect to the Docker engine at tcp:\/\/127\.0\.0\.1:1 \(context "dead"\) \(ECONNREFUSED\)/);
    const tls = dbox('ls /hosts/wrongtls', {env: env()});
    expect(tls.status).toBe(1);
    expect(tls.stderr).toMatch(/^dbox: cannot connect to the Docker engine at tcp:\/\/127\.0\.0\.1:\d+ \(context "wrongtls"\)/);
    expect(dbox(`ls /hosts/dead; cat /hosts/remote/${running}/etc/motd`, {env: env()}).stdout).toBe('Welcome to a dbox fixture container\n');
    expect(dbox('ls /containers', {env: env({DOCKER_CONTEXT: 'gone'})}).stderr).toMatch(/^dbox: context "gone" does not exist/);
  });
});

function execSh(cmd: string): void {
  execFileSync('sh', ['-c', cmd], {stdio: 'ignore'});
}
