// attach to a stopped container and to an image (a snapshot of its layers, native/attach-snapshot.c)
// on the real engine: a write inside is gone after the program ends, `docker diff` and the host's
// mount table are unchanged, the program is confined (its own PID namespace, no /proc/sys, no
// mknod, no mount); and a malicious engine on a unix socket naming hostile layer directories
// (paths of another shape or outside its data root, `..`, a directory an unprivileged user owns,
// a link or another mount on the way) is
// refused with nothing mounted and nothing of the host shown.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {plainContainer, startFakeEngine, type FakeEngine} from '../adversarial/lib/fake-engine.js';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();

/** Mounts in the host's mount table (the test's own) that a snapshot could have made: an overlay
 *  with a scratch upper layer, a toolbox, or a proc limited to pids (other engineers' containers
 *  come and go meanwhile, so the whole table is not compared). */
const snapshotMounts = (): string[] => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
  .filter((l) => /upperdir=\/tmp\/upper|\/\.dbox|subset=pid|\/proc\/self\/fd/.test(l));

/** `dbox attach` run asynchronously (the fake engine answers from this process). */
function attachAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{status: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [dboxPath, 'attach', ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code: number | null) => resolve({status: code ?? -1, stdout, stderr}));
  });
}

describe.runIf(hasEngine)('attach to a stopped container or an image: a snapshot', () => {
  let fixture: Fixture;
  let stopped: string;
  let image: string;
  const attach = (args: string[]) => spawnSync(process.execPath, [dboxPath, 'attach', ...args], {encoding: 'utf8', input: '', timeout: 60_000});

  beforeAll(() => {
    fixture = makeFixture('attach-snap', {'data/hello.txt': 'hello\n'});
    // The container's own layer has a file of its own, so that it is seen to be one of the layers.
    stopped = fixture.run('stopped');
    docker('exec', stopped, 'sh', '-c', 'echo own > /data/own');
    docker('stop', '-t', '0', stopped);
    image = fixture.tag;
  });
  afterAll(() => fixture?.cleanup());

  it('a stopped container: its files, a write inside gone after exit, docker diff and the host\'s mounts unchanged', () => {
    const diff = docker('diff', stopped);
        const first = attach([stopped, '--verbose', '--', 'sh', '-c', 'cat /data/hello.txt /data/own; echo changed > /data/hello.txt; echo new > /data/new; cat /data/hello.txt /data/new; hostname']);
    expect(first.stderr).toBe(`attach: container '${stopped}': a snapshot of its layers (changes are discarded)\n`);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(`hello\nown\nchanged\nnew\n${docker('inspect', '-f', '{{.Config.Hostname}}', stopped)}\n`);
    const second = attach([stopped, '--', 'sh', '-c', 'cat /data/hello.txt; ls /data']);
    expect(second.stdout).toBe('hello\nhello.txt\nown\n');
    expect(docker('diff', stopped)).toBe(diff);
    expect(snapshotMounts()).toEqual([]);
    expect(docker('inspect', '-f', '{{.State.Status}}', stopped)).toBe('exited');
  });

  it('an image: the same, and the image unchanged', () => {
    const before = docker('image', 'inspect', '-f', '{{.Id}} {{json .RootFS}}', image);
        const r = attach([image, '--snapshot', '--', 'sh', '-c', 'cat /data/hello.txt; rm /data/hello.txt; ls /data | wc -l']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello\n0\n');
    expect(r.status).toBe(0);
    expect(attach([image, '--', 'cat', '/data/hello.txt']).stdout).toBe('hello\n');
    expect(docker('image', 'inspect', '-f', '{{.Id}} {{json .RootFS}}', image)).toBe(before);
    expect(snapshotMounts()).toEqual([]);
  });

  it('the program is confined: its own processes only, no /proc/sys, no mknod, no mount, the status passed', () => {
    const r = attach([stopped, '--', 'sh', '-c',
      'ps -o pid > /tmp/ps; tail -n +2 /tmp/ps | wc -l; ls /proc/sys 2>&1; mknod /tmp/sda b 8 0 2>&1; mkdir -p /tmp/m; mount -t tmpfs x /tmp/m 2>&1; exit 9']);
    expect(r.status).toBe(9);
    const lines = r.stdout.split('\n');
    // init, sh, ps (not a pipeline: how many of its parts ps would see depends on timing)
    expect(Number(lines[0])).toBeLessThanOrEqual(3);
    expect(r.stdout).toMatch(/ls: \/proc\/sys: No such file or directory/);
    expect(r.stdout).toMatch(/mknod: \/tmp\/sda: Operation not permitted/);
    expect(r.stdout).toMatch(/mount: .*(Operation not permitted|permission denied)/i);
  });

  it('PID 1 shows nothing of the host: its command line blanked, its environment, memory and descriptors closed to the program', () => {
    const r = attach([stopped, '--', 'sh', '-c',
      'echo "cmd=$(tr "\\0" " " < /proc/1/cmdline)"; echo "env=$(cat /proc/1/environ 2>&1)"; echo "exe=$(readlink /proc/1/exe 2>&1)"; ' +
      'for f in /proc/1/fd/*; do echo "fd=$(readlink $f 2>&1)"; done']);
    expect(r.status).toBe(0);
    const said = (k: string): string[] => r.stdout.split('\n').filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1).trim());
    expect(said('cmd')).toEqual(['dbox-init']);
    expect(said('env')[0]).toMatch(/Permission denied/);
    expect(said('exe')[0]).toBe('');
    for (const fd of said('fd')) expect(fd).toBe('');
    expect(r.stdout).not.toMatch(/var\/lib|overlay2|toolbox|--layer/);
  });

  it('ends with its program, as a container with its main process: what the program left running goes too', () => {
    const r = attach([image, '--', 'sh', '-c', '(sleep 600 &); echo started']);
    expect({status: r.status, stdout: r.stdout}).toEqual({status: 0, stdout: 'started\n'}); // (the old code waited the 600 s: the 60 s deadline killed it)
    expect(spawnSync('pgrep', ['-f', '^sleep 600$']).status).toBe(1);
  });

  it('refuses --snapshot of a running container (a user who is not root gets a snapshot through a helper: attach-helper.test.ts)', () => {
    const running = fixture.run('running');
    const r = attach([running, '--snapshot', '--', 'true']);
    expect(r.stderr).toBe(`attach: --snapshot: container '${running}' is running, and its layer would change under a snapshot: attach without --snapshot\n`);
    expect(r.status).toBe(1);
  });
});

describe.runIf(hasEngine)('attach snapshot: a malicious engine naming layer directories', () => {
  let fake: FakeEngine;
  let base: string;
  let owned: string;
  let ownedWay: string;
  let linked: string;
  let crossing: string;
  const hex = (): string => crypto.randomBytes(32).toString('hex');
  const canary = '/etc/hostname';
  let canaryBefore: string;

  beforeAll(async () => {
    // Not below /tmp, shared with every user (only its sticky bit makes it acceptable on the way).
    base = fs.mkdtempSync('/run/dbox-snap-evil-');
    fs.chmodSync(base, 0o755);
    // The engine's data root (as /info names it), root's.
    const root = path.join(base, 'root');
    // Shaped as overlay2's, but a layer an unprivileged user owns (and could change at will).
    owned = path.join(root, 'overlay2', hex(), 'diff');
    fs.mkdirSync(owned, {recursive: true});
    fs.writeFileSync(path.join(owned, 'planted'), 'planted\n');
    execFileSync('chown', ['-R', '65534:65534', owned]);
    // A layer of root's, below a directory an unprivileged user owns (who could swap what is beneath).
    ownedWay = path.join(root, 'overlay2', hex(), 'diff');
    fs.mkdirSync(ownedWay, {recursive: true});
    fs.writeFileSync(path.join(ownedWay, 'planted'), 'planted\n');
    execFileSync('chown', ['65534:65534', path.dirname(ownedWay)]);
    // A layer of root's that anyone may add files to (sticky: on the way that would do, as a layer not).
    const sticky = path.join(root, 'overlay2', hex(), 'diff');
    fs.mkdirSync(sticky, {recursive: true});
    fs.chmodSync(sticky, 0o1777);
    // Shaped as overlay2's, root's, but a link to the host's /etc on the way.
    const layerDir = path.join(root, 'overlay2', hex());
    fs.mkdirSync(layerDir, {recursive: true});
    fs.symlinkSync('/etc', path.join(layerDir, 'diff'));
    linked = path.join(layerDir, 'diff');
    // Shaped as overlay2's, root's, but another mount (a tmpfs of root's) below the data root.
    crossing = path.join(root, 'overlay2', hex(), 'diff');
    fs.mkdirSync(crossing, {recursive: true});
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'dbox-snap-evil', crossing]);
    fs.writeFileSync(path.join(crossing, 'planted'), 'planted\n');
    canaryBefore = fs.readFileSync(canary, 'utf8');
    const layered = (name: string, upper: unknown, lower?: unknown) => ({
      ...plainContainer({name, state: 'exited', running: false}),
      graphDriver: {Name: 'overlay2', Data: {UpperDir: upper, ...(lower !== undefined ? {LowerDir: lower} : {})}},
    });
    fake = await startFakeEngine(base, [
      layered('evil-etc', '/etc'),
      layered('evil-outside', `/var/lib/docker/overlay2/${hex()}/diff`),
      layered('evil-dotdot', `${root}/overlay2/${hex()}/diff`, `${root}/overlay2/../../../../etc/overlay2/${hex()}/diff`),
      layered('evil-owned', owned),
      layered('evil-owned-way', ownedWay),
      layered('evil-sticky', sticky),
      layered('evil-link', linked),
      layered('evil-mount', crossing),
      layered('evil-colon', `${root}/overlay2/${hex()}/diff:/etc`),
      {...plainContainer({name: 'evil-vfs', state: 'exited', running: false}), graphDriver: {Name: 'vfs', Data: {}}},
    ], {dataRoot: root});
  });
  afterAll(async () => {
    await fake?.close();
    if (crossing) spawnSync('umount', [crossing]);
    if (base && !fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(base)) fs.rmSync(base, {recursive: true, force: true});
  });

  it('refuses every hostile layer directory, mounts nothing and shows nothing of the host', async () => {
    const expected: Record<string, RegExp> = {
      'evil-etc': /the engine named a layer directory that is not one of overlay2's: "\/etc"/,
      'evil-outside': /the engine named a layer directory that is not one of overlay2's: "\/var\/lib\/docker\//,
      'evil-dotdot': /the engine named a layer directory that is not one of overlay2's/,
      'evil-owned': /Operation not permitted \(a directory on the way is not root's alone\): refusing it/,
      'evil-owned-way': /Operation not permitted \(a directory on the way is not root's alone\): refusing it/,
      'evil-sticky': /Operation not permitted \(a directory on the way is not root's alone\): refusing it/,
      'evil-link': /Too many levels of symbolic links \(a link, another mount/,
      'evil-mount': /Invalid cross-device link \(a link, another mount/,
      'evil-colon': /the engine named a layer directory that is not one of overlay2's/,
      'evil-vfs': /the engine's storage driver is vfs, not overlay2/,
    };
    for (const [name, message] of Object.entries(expected)) {
      const r = await attachAsync([name, '--', '/.dbox/bin/sh', '-c', 'echo reached; cat /planted /hostname'], {DOCKER_HOST: fake.host});
      expect({name, stderr: r.stderr}).toEqual({name, stderr: expect.stringMatching(message)});
      expect(r.status).not.toBe(0);
      expect(r.stdout).toBe('');
    }
    expect(snapshotMounts()).toEqual([]);
    expect(fs.readFileSync(canary, 'utf8')).toBe(canaryBefore);
  });
});
