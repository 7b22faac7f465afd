// Adversarial suite, part 4: attach against a hostile container and an unprivileged local user.
//   F2  blockdev: a static adversary in the container (adversaries/attach-watcher.c) spins on the
//       container's /dev and on the target during attaches; it must never see anything of the host
//       filesystem beyond HOSTDIR (a canary directory beside HOSTDIR on the same ext4), nor write.
//   F5  the injected HOSTDIR is read-only, nosuid, nodev inside the container, for every method.
//   F7  a local user pre-creates the state directory with links named after container ids, and
//       forges state files: root's attach must not write through them, --cleanup must not obey them.
//   Medium: a target swapped for a symlink mid-session leaves nothing mounted.
// HOSTDIR is on an ext4 image on a loop device made here (blockdev needs a block device).
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {removeUser, requireEngine} from '../integration/engine.js';
import {makeCanaries, snapshot, type Canaries} from './lib/canary.js';
import {buildHostileImage, runContainer, type HostileImage} from './lib/hostile.js';
import {makeLoopFs, makeToolbox, type LoopFs} from './lib/loop.js';
import {clean, containerMountinfo, dboxArgs, leftovers, makeWorld, start, sweep, waitFor, type World} from './lib/run.js';

const hasEngine = requireEngine();
const METHODS = ['mount-api', 'blockdev', 'helper', 'upload'] as const;

describe.runIf(hasEngine)('adversarial: attach', () => {
  let world: World;
  let canaries: Canaries;
  let image: HostileImage;
  let loop: LoopFs;
  let toolbox: string;
  let secretDir: string;
  let c: string;
  let user: string;
  let uid: number;
  let fsBefore: ReturnType<typeof snapshot>;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => world.env(extra);
  const id = (name: string): string => execFileSync('docker', ['inspect', '-f', '{{.Id}}', name], {encoding: 'utf8'}).trim();
  /** The attach state directory as dbox names it today (under TMPDIR): where the local user attacks. */
  const stateDir = (): string => path.join(world.tmp, 'dbox-attach-0');
  const asUser = (cmd: string): void => {
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'sh', '-c', cmd], {stdio: 'ignore'});
  };
  /** Mounts of the loop filesystem (HOSTDIR's) in the container's mount table. */
  const injected = (name: string): string[] => containerMountinfo(name).split('\n').filter((l) => l.split(' ')[2] === `${loop.major}:${loop.minor}`);

  beforeAll(() => {
    world = makeWorld('attach');
    canaries = makeCanaries(world.base);
    image = buildHostileImage('attach', world.base, canaries);
    loop = makeLoopFs(world.mkdir('loop'), 64);
    world.ownMounts.push(loop.mnt);
    toolbox = path.join(loop.mnt, 'tools');
    makeToolbox(toolbox);
    // Beside HOSTDIR on the same filesystem: nothing of it may ever be seen in the container.
    secretDir = path.join(loop.mnt, 'secret-canary-dir');
    fs.mkdirSync(secretDir);
    fs.writeFileSync(path.join(secretDir, 'secret.txt'), `${canaries.tokens[0]}\n`);
    fsBefore = snapshot(loop.mnt);
    c = runContainer(image.tag, 'adv-attach');
    user = `dboxadv${process.pid % 100000}`;
    execFileSync('useradd', ['-M', '-s', '/usr/sbin/nologin', user]);
    uid = Number(execFileSync('id', ['-u', user], {encoding: 'utf8'}).trim());
  });

  afterEach(() => {
    // Observe everything, put everything back, then judge (a failed check must not leave the next case dirty).
    const now = canaries.record();
    const fsNow = snapshot(loop.mnt);
    const fsWas = fsBefore;
    const mountedNow = injected(c);
    const diff = execFileSync('docker', ['diff', c], {encoding: 'utf8'}).split('\n').filter((l) => /\.dbox|pwned/.test(l));
    // The container's /dev is a tmpfs docker diff does not show: blockdev's temporaries would be there.
    diff.push(...execFileSync('docker', ['exec', c, 'ls', '-a', '/dev'], {encoding: 'utf8'}).split('\n').filter((l) => l.startsWith('.dbox')).map((l) => `/dev/${l}`));
    const left = leftovers(world);
    if (JSON.stringify(now) !== JSON.stringify(canaries.original)) canaries.restore();
    if (JSON.stringify(fsNow) !== JSON.stringify(fsBefore)) {
      for (const p of Object.keys(fsNow).filter((k) => !(k in fsBefore))) fs.rmSync(p, {recursive: true, force: true});
      fs.rmSync(toolbox, {recursive: true, force: true});
      makeToolbox(toolbox);
      fs.mkdirSync(secretDir, {recursive: true});
      fs.writeFileSync(path.join(secretDir, 'secret.txt'), `${canaries.tokens[0]}\n`);
      fsBefore = snapshot(loop.mnt);
    }
    if (mountedNow.length > 0) {
      const pid = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', c], {encoding: 'utf8'}).trim();
      for (const l of mountedNow.reverse()) spawnSync('nsenter', ['-t', pid, '-m', 'umount', '-l', l.split(' ')[4]!]);
    }
    sweep(world);
    expect(now, 'host canaries changed').toEqual(canaries.original);
    expect(fsNow, 'HOSTDIR or the filesystem beside it changed').toEqual(fsWas);
    expect(mountedNow, 'HOSTDIR still mounted in the container').toEqual([]);
    expect(diff, 'left in the container').toEqual([]);
    expect({...left, tmpFiles: left.tmpFiles.filter((f) => f.startsWith('dbox-attach-'))}, 'left behind').toEqual(clean);
  });

  afterAll(() => {
    removeUser(user);
    image?.cleanup();
    loop?.cleanup();
    if (loop) expect(loop.attached(), 'a loop device left').toEqual([]);
    canaries?.cleanup();
    world?.cleanup();
  });

  it('attach works at all with each method (control)', async () => {
    for (const method of METHODS) {
      const r = await dboxArgs(['attach', c, toolbox, '--method', method, '--', '/.dbox/bin/cat', '/etc/marker'], env(), {deadlineMs: 60_000});
      expect(r.err, method).toBe('');
      expect(r.out, method).toBe('CONTAINER-MARKER\n');
    }
  });

  it('F2 blockdev: a process in the container watching /dev and the target never sees or writes the host filesystem', async () => {
    const watcher = path.join(world.base, 'attach-watcher');
    execFileSync('gcc', ['-static', '-O2', '-o', watcher, path.join(import.meta.dirname, 'adversaries/attach-watcher.c')]);
    execFileSync('docker', ['cp', watcher, `${c}:/tmp/attach-watcher`]);
    const w = spawn('docker', ['exec', c, '/tmp/attach-watcher', '/dev', '/.dbox', '/tmp/watcher-report', '/tmp/watcher-stop'], {stdio: 'ignore'});
    try {
      expect(await waitFor(() => spawnSync('docker', ['exec', c, 'sh', '-c', 'ps | grep -v grep | grep -q attach-watcher']).status === 0, 20_000), 'the watcher runs').toBe(true);
      for (let i = 0; i < 12; i++) {
        const r = await dboxArgs(['attach', c, toolbox, '--method', 'blockdev', '--', '/.dbox/bin/true'], env(), {deadlineMs: 60_000});
        expect(r.status, r.err).toBe(0);
      }
    } finally {
      spawnSync('docker', ['exec', c, 'touch', '/tmp/watcher-stop']);
      await waitFor(() => w.exitCode !== null, 20_000);
      w.kill('SIGKILL');
    }
    const report = spawnSync('docker', ['exec', c, 'cat', '/tmp/watcher-report'], {encoding: 'utf8'}).stdout;
    spawnSync('docker', ['exec', c, 'rm', '-f', '/tmp/watcher-report', '/tmp/watcher-stop', '/tmp/attach-watcher']);
    // The watcher may write into the empty mount point while it exists without the mount (its own
    // filesystem, its own files): dbox must then leave the directory and the container's files in
    // it, never delete them. That is the container's doing; what it must never reach is the host.
    const kept = spawnSync('docker', ['exec', c, 'ls', '-A', '/.dbox'], {encoding: 'utf8'});
    if (kept.status === 0) {
      expect(kept.stdout.split('\n').filter(Boolean).every((n) => n.startsWith('pwned-by-watcher')), kept.stdout).toBe(true);
      spawnSync('docker', ['exec', c, 'rm', '-rf', '/.dbox']);
    }
    expect(report, 'the container saw the host filesystem beyond HOSTDIR').not.toMatch(/SEEN (secret-canary-dir|lost\+found)/);
    // WROTE lines name paths in the container; what counts is whether any reached the host's filesystem.
    expect(snapshot(loop.mnt), 'the container wrote into the host filesystem').toEqual(fsBefore);
  });

  it('F5 the injected HOSTDIR is read-only, nosuid, nodev inside the container, for every method', async () => {
    const probe = 'grep " /.dbox " /proc/self/mountinfo; echo x > /.dbox/pwned && echo WRITE-OK; echo x >> /.dbox/bin/busybox && echo APPEND-OK; '
      + 'touch /.dbox/bin/pwned && echo TOUCH-OK; mkdir /.dbox/pwned-dir && echo MKDIR-OK; true';
    for (const method of METHODS) {
      const r = await dboxArgs(['attach', c, toolbox, '--method', method, '--', '/.dbox/bin/sh', '-c', probe], env(), {deadlineMs: 60_000});
      expect(r.status, `${method}: ${r.err}`).toBe(0);
      expect(snapshot(loop.mnt), `${method}: the host toolbox changed`).toEqual(fsBefore);
      // upload puts a copy in the container (its own to change); the in-kernel methods show the host's directory.
      if (method !== 'upload') {
        expect(r.out, method).not.toMatch(/WRITE-OK|APPEND-OK|TOUCH-OK|MKDIR-OK/);
        const line = r.out.split('\n').find((l) => l.includes(' /.dbox '));
        expect(line, `${method}: the mount in the container`).toBeDefined();
        const opts = line!.split(' ')[5]!.split(',');
        for (const o of ['ro', 'nosuid', 'nodev']) expect(opts, `${method}: ${line}`).toContain(o);
      }
    }
  });

  it('F7 a local user who pre-creates the state directory with links named after container ids cannot make root\'s attach write through them', async () => {
    const cid = id(c);
    for (const method of METHODS) {
      asUser(`mkdir -p '${stateDir()}' && chmod 777 '${stateDir()}' && ln -sf '${canaries.file}' '${stateDir()}/${cid}.state' && ln -sf '${canaries.rootFile}' '${stateDir()}/${cid}'`);
      const before = fs.readlinkSync(path.join(stateDir(), `${cid}.state`));
      await dboxArgs(['attach', c, toolbox, '--method', method, '--', '/.dbox/bin/true'], env(), {deadlineMs: 60_000});
      expect(canaries.record(), `${method}: root wrote through the user's link`).toEqual(canaries.original);
      const st = fs.lstatSync(path.join(stateDir(), `${cid}.state`), {throwIfNoEntry: false});
      if (st) expect(st.isSymbolicLink() && fs.readlinkSync(path.join(stateDir(), `${cid}.state`)) === before, method).toBe(true);
      fs.rmSync(stateDir(), {recursive: true, force: true});
    }
  });

  it('F7 a forged state file never makes attach --cleanup remove or unmount anything', async () => {
    const forged = ['method=upload\ntarget=/\n', 'method=upload\ntarget=/data\n', 'target=/dev\ncreated=/data\nremounted=0\n',
      'target=/proc\ncreated=/etc\nremounted=0\n', `target=/etc/hostname\ncreated=/tmp\nremounted=1\n`];
    for (const content of forged) {
      // A fresh container each time: a forged file that works wipes it.
      const victim = runContainer(image.tag, `adv-forged-${forged.indexOf(content)}`);
      try {
        const cid = id(victim);
        const files = (): string => {
          const r = spawnSync('docker', ['exec', victim, 'sh', '-c', 'ls -a / /data /etc /dev /tmp'], {encoding: 'utf8'});
          return `${r.status} ${r.stdout}${r.stderr}`;
        };
        const mounts = (): string[] => containerMountinfo(victim).split('\n').map((l) => l.split(' ').slice(4, 5).join(' ')).sort();
        const beforeFiles = files();
        const beforeMounts = mounts();
        asUser(`mkdir -p '${stateDir()}' && chmod 777 '${stateDir()}' && printf '%s' '${content}' > '${stateDir()}/${cid}.state'`);
        await dboxArgs(['attach', victim, '--cleanup'], env(), {deadlineMs: 60_000});
        expect(mounts(), `forged: ${JSON.stringify(content)}`).toEqual(beforeMounts);
        expect(files(), `forged: ${JSON.stringify(content)}`).toBe(beforeFiles);
      } finally {
        fs.rmSync(stateDir(), {recursive: true, force: true});
        spawnSync('docker', ['rm', '-f', victim], {stdio: 'ignore'});
      }
    }
  });

  for (const method of ['mount-api', 'blockdev'] as const) {
    it(`Medium ${method}: a target swapped for a symlink mid-session leaves nothing mounted, and --cleanup tells the truth`, async () => {
      const c = runContainer(image.tag, `adv-swap-${method}`);
      const run = start(['attach', c, toolbox, '--method', method, '--at', '/opt/t/tools', '--',
        '/opt/t/tools/bin/sh', '-c', 'while [ ! -e /tmp/swap-done ]; do /opt/t/tools/bin/sleep 0.05; done'], {env: env(), deadlineMs: 60_000});
      try {
        expect(await waitFor(() => injected(c).length > 0, 20_000), 'the toolbox appeared').toBe(true);
        execFileSync('docker', ['exec', c, 'sh', '-c', 'mv /opt/t /opt/t.moved && mkdir -p /tmp/elsewhere/tools && ln -s /tmp/elsewhere /opt/t && touch /tmp/swap-done']);
        const r = await run.done;
        expect(r.timedOut).toBe(false);
        expect(injected(c), 'still mounted after the session').toEqual([]);
        const cleanup = await dboxArgs(['attach', c, '--cleanup', '--at', '/opt/t/tools'], env(), {deadlineMs: 60_000});
        if (/removed/.test(cleanup.out)) expect(injected(c), '--cleanup said it removed it').toEqual([]);
        expect(injected(c), 'still mounted after --cleanup').toEqual([]);
        expect(cleanup.status, cleanup.err).toBe(0);
      } finally {
        // Whatever stayed mounted is unmounted first (removing files through it would remove the host's).
        const pid = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', c], {encoding: 'utf8'}).trim();
        for (const l of injected(c).reverse()) spawnSync('nsenter', ['-t', pid, '-m', 'umount', '-l', l.split(' ')[4]!]);
        spawnSync('docker', ['rm', '-f', c], {stdio: 'ignore'});
      }
    });
  }
});
