// Adversarial suite, part 2: a malicious engine (lib/fake-engine.ts), a real HTTP server on a
// unix socket started by the test, reached with DOCKER_HOST=unix://…. It lies in every answer dbox
// reads: State.Pid naming host processes (pid 1, the test runner, kthreadd, a planted process),
// exec listings with entries `../../…`, `/abs`, `a/b`, `.`, `..`, tar streams that lie, container
// names with `\n`, `\t`, `/`, `..` and escapes, ids that are not hex. Every path: builtins (ls,
// cat, cp -r to a host dir), the mount (`dbox mount DIR` walked with host tools), attach. The fake
// engine runs in this process: everything here waits asynchronously (a blocking wait would stop it).
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath} from '../integration/engine.js';
import {makeCanaries, type Canaries} from './lib/canary.js';
import {plainContainer, startFakeEngine, type FakeContainer, type FakeEngine} from './lib/fake-engine.js';
import {plant, type Plant} from './lib/plant.js';
import {clean, sweep, dboxArgs, dboxLine, endSession, leftovers, makeWorld, mountsUnder, onTerminal, rawEscapes, sh, waitFor, type World} from './lib/run.js';
import {entry, pax, tarball} from './lib/tar-craft.js';
import {makeToolbox} from './lib/loop.js';

const ENGINE_SIDE = {file: 'ENGINE-SIDE file\n', inner: 'ENGINE-SIDE inner\n'};

describe('adversarial: a malicious engine', () => {
  let world: World;
  let canaries: Canaries;
  let fake: FakeEngine;
  let planted: Plant;
  let toolbox: string;
  let outer: string | undefined;
  const hostRootBefore = fs.readdirSync('/').filter((n) => /dbox/i.test(n));
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => world.env({DOCKER_HOST: fake.host, ...extra});
  const pidContainers: [string, () => number][] = [['evil-pid1', () => 1], ['evil-self', () => process.pid], ['evil-kthread', () => 2],
    ['evil-planted', () => planted.pid]];

  /** A fresh destination inside `outer`: nothing may appear in `outer` beside it. */
  const freshDest = (label: string): string => {
    outer = world.mkdir(`outer-${label}`);
    const d = path.join(outer, 'dest');
    fs.mkdirSync(d);
    return d;
  };

  beforeAll(async () => {
    world = makeWorld('fake');
    canaries = makeCanaries(world.base);
    planted = plant(world.base);
    toolbox = path.join(world.mkdir('toolbox'), 'tools');
    makeToolbox(toolbox);
    const canaryFiles = {[canaries.file]: ENGINE_SIDE.file, [path.join(canaries.dir, 'inner.txt')]: ENGINE_SIDE.inner, '/etc/hostname': 'evil\n',
      '/data/ok.txt': 'ok\n'};
    const normalListing = (dir: string): string | undefined => {
      if (dir === canaries.dir) return '81a4 1 0 0 18 1700000000 inner.txt\n41ed 2 0 0 4096 1700000000 sub\n';
      if (dir === '/data') return '81a4 1 0 0 3 1700000000 ok.txt\n';
      return '';
    };
    const containers: FakeContainer[] = [];
    // State.Pid naming host processes; the engine itself would serve ENGINE-SIDE content.
    for (const [name, pid] of pidContainers) {
      containers.push({...plainContainer({name, dirs: ['/data', canaries.dir, path.join(canaries.dir, 'sub')], files: canaryFiles, listing: normalListing}),
        get pid() { return pid(); }});
    }
    // A running container whose exec listings lie (inspect says it runs but gives no pid: the
    // engine driver serves it; were inspect to say it stopped, it would be served as stopped).
    const up = (n: number): string => '../'.repeat(n);
    containers.push(plainContainer({
      name: 'evil-exec', running: true, pid: 0, state: 'running', dirs: ['/data', '/data/sub'], files: canaryFiles, fallback: 'PWNED-BY-ENGINE\n',
      links: {'/data/l': canaries.dir},
      listing: (dir) => dir !== '/data' ? '' : [
        `81a4 1 0 0 16 1700000000 ${up(12)}${canaries.dir.slice(1)}/pwned-exec-dotdot`,
        `81a4 1 0 0 16 1700000000 ${canaries.dir}/pwned-exec-abs`,
        '81a4 1 0 0 16 1700000000 ../pwned-exec-outer',
        'a1ff 1 0 0 20 1700000000 l',
        '81a4 1 0 0 16 1700000000 l/pwned-exec-through-link',
        '81a4 1 0 0 16 1700000000 sub/../../pwned-exec-sub',
        '81a4 1 0 0 16 1700000000 a/b',
        '41ed 2 0 0 4096 1700000000 .',
        '41ed 2 0 0 4096 1700000000 ..',
        '81a4 1 0 0 3 1700000000 ok.txt',
        '',
      ].join('\n'),
    }));
    // A stopped container whose tar streams lie.
    const lyingTar = tarball(
      entry({name: 'data/', type: 'dir'}),
      entry({name: 'data/ok.txt', body: 'ok\n'}),
      entry({name: `data/${up(12)}${canaries.dir.slice(1)}/pwned-tar-dotdot`, body: 'PWNED\n'}),
      entry({name: `${canaries.dir}/pwned-tar-abs`, body: 'PWNED\n'}),
      entry({name: 'data/l', type: 'symlink', linkname: canaries.dir}),
      entry({name: 'data/l/pwned-tar-through-link', body: 'PWNED\n'}),
      entry({name: 'data/h', type: 'link', linkname: `${up(12)}${canaries.file.slice(1)}`}),
      pax({path: `data/${up(12)}${canaries.dir.slice(1)}/pwned-tar-pax`}),
      entry({name: 'data/innocent.txt', body: 'PWNED\n'}),
      entry({name: 'data/dev', type: 'char', devmajor: 1, devminor: 11}),
    );
    containers.push(plainContainer({
      name: 'evil-tar', state: 'exited', dirs: ['/data'], files: {'/data/ok.txt': 'ok\n'}, fallback: 'PWNED-BY-ENGINE\n',
      links: {'/data/l': canaries.dir},
      tar: (p) => p === '/data' ? lyingTar
        : p === '/data/short' ? Buffer.concat([entry({name: 'short', body: 'only ten.\n', claimedSize: 1 << 20})])
        : p === '/data/ok.txt' ? tarball(entry({name: `${up(8)}${canaries.file.slice(1)}`, type: 'link', linkname: canaries.file}), entry({name: 'ok.txt', body: 'ok\n'}))
        : undefined,
    }));
    // Names that are not names.
    for (const name of ['inj\n+pwn\t/\tw\nx', 'tab\tname', '..', '.', 'a/b', '\x1b]0;PWNED-NAME\x07', '../../../../tmp/x', 'ok-name']) {
      containers.push(plainContainer({name, state: 'exited', dirs: ['/data'], files: {'/data/ok.txt': 'ok\n'}}));
    }
    // An id that is not hex: it becomes part of host paths (attach's state file) if trusted.
    containers.push({...plainContainer({name: 'evil-id', id: `${up(12)}${canaries.dir.slice(1)}/pwned-id`, dirs: ['/data']}),
      get pid() { return planted.pid; }});
    fake = await startFakeEngine(world.base, containers);
  });

  afterEach(() => {
    // Observe everything, put everything back, then judge (a failed check must not leave the next case dirty).
    const now = canaries.record();
    const plantedNow = planted.record();
    const plantedBefore = planted.original;
    const hostRoot = fs.readdirSync('/').filter((n) => /dbox/i.test(n));
    const left = leftovers(world);
    const beside = outer ? fs.readdirSync(outer) : ['dest'];
    outer = undefined;
    if (JSON.stringify(now) !== JSON.stringify(canaries.original)) canaries.restore();
    planted.rebase();
    sweep(world);
    expect(now, 'host canaries changed').toEqual(canaries.original);
    expect(plantedNow, 'the planted process root changed').toEqual(plantedBefore);
    expect(hostRoot, 'host / changed').toEqual(hostRootBefore);
    expect(left, 'left behind').toEqual(clean);
    expect(beside, 'written beside the destination').toEqual(['dest']);
  });

  afterAll(async () => {
    await fake?.close();
    planted?.kill();
    canaries?.cleanup();
    // An attach that injected into the host's own root (today's F4) is undone here.
    for (const n of fs.readdirSync('/').filter((x) => x.startsWith('dbox-adv-at-'))) {
      await sh(`umount -l '/${n}' 2>/dev/null; rmdir '/${n}'`);
    }
    world?.cleanup();
  });

  it('the fake engine is well formed: dbox lists it and reads a file through it', async () => {
    const r = await dboxLine('ls /containers && cat /containers/ok-name/data/ok.txt', env());
    expect(r.err).toBe('');
    expect(r.out).toContain('ok-name');
    expect(r.out.endsWith('ok\n')).toBe(true);
  });

  it('F4 a State.Pid naming a host process (pid 1, the test runner, kthreadd, a planted one): cat, ls, cp never serve the host', async () => {
    for (const [name] of pidContainers) {
      const cat = await dboxLine(`cat /containers/${name}${canaries.file} /containers/${name}${canaries.dir}/inner.txt /containers/${name}/PLANTED-MARKER`, env());
      expect(canaries.leaks(cat.stdout), `${name}: ${cat.out}`).toBe(false);
      expect(cat.out.includes(planted.token), name).toBe(false);
      const ls = await dboxLine(`ls -la /containers/${name}/ /containers/${name}${canaries.dir}`, env());
      expect(ls.out, name).not.toMatch(/PLANTED-MARKER|busybox|\bproc\b.*\bsys\b/s);
      const to = freshDest(`pid-${name}`);
      await dboxLine(`cp -r /containers/${name}${canaries.dir} ${to}/`, env());
      const files = (await sh(`find '${to}' -type f -exec cat {} +`)).stdout;
      expect(canaries.leaks(files), name).toBe(false);
      // A write into the container must not land on the host.
      const src = path.join(world.base, 'src.txt');
      fs.writeFileSync(src, 'PWNED-WRITE\n');
      await dboxLine(`cp ${src} /containers/${name}${canaries.dir}/inner.txt; cp ${src} /containers/${name}/written-by-dbox`, env());
    }
  });

  it('F4 the mount (dbox mount DIR) never serves a host process root for a lying State.Pid', async () => {
    const mnt = world.mkdir('mnt');
    const m = await dboxArgs(['mount', mnt], env(), {deadlineMs: 60_000});
    expect(m.status, m.err).toBe(0);
    try {
      for (const [name] of pidContainers) {
        const r = await sh(`timeout 10 cat '${mnt}/${name}${canaries.file}' '${mnt}/${name}${canaries.dir}/inner.txt' '${mnt}/${name}/PLANTED-MARKER'; timeout 10 ls -a '${mnt}/${name}/'`);
        expect(canaries.leaks(r.stdout), `${name}: ${r.out}`).toBe(false);
        expect(r.out.includes(planted.token), name).toBe(false);
        expect(r.out, name).not.toMatch(/PLANTED-MARKER/);
      }
    } finally {
      await dboxArgs(['umount', mnt], env());
      await waitFor(() => mountsUnder(mnt).length === 0, 10_000);
    }
  });

  it('F4 attach to a container whose State.Pid is a host process never injects into that process', async () => {
    const at = `/dbox-adv-at-${process.pid}`;
    for (const method of ['auto', 'mount-api', 'blockdev']) {
      const r = await dboxArgs(['attach', 'evil-planted', toolbox, '--method', method, '--at', at, '--', '/bin/true'], env(), {deadlineMs: 60_000});
      expect(fs.existsSync(path.join(planted.root, at.slice(1))), `${method}: created in the planted root`).toBe(false);
      expect(fs.existsSync(at), `${method}: created on the host`).toBe(false);
      // auto may fall back to upload through the engine (harmless here); the in-kernel methods need a proven pid.
      if (method !== 'auto') expect(r.status, `${method} with an unproven pid`).not.toBe(0);
    }
    const r1 = await dboxArgs(['attach', 'evil-pid1', toolbox, '--method', 'mount-api', '--at', at, '--', '/bin/true'], env(), {deadlineMs: 60_000});
    expect(fs.existsSync(at), 'attach evil-pid1 created a directory in the host root').toBe(false);
    expect(r1.status).not.toBe(0);
  });

  it('F3 exec listings with ../, /abs, a/b, ., .. entries never write outside the cp -r destination', async () => {
    for (const flag of ['-r', '-a']) {
      const to = freshDest(`exec${flag}`);
      const r = await dboxLine(`cp ${flag} /containers/evil-exec/data ${to}/`, env());
      // The forged listing is refused (the engine's archive is listed instead), and never silently:
      // an error naming the directory, and a non-zero status.
      expect(r.status, `cp ${flag}: ${r.err}`).not.toBe(0);
      expect(r.err, `cp ${flag}`).toMatch(/^cp: \/containers\/evil-exec\/data: .*refused/m);
      const names = (await sh(`cd '${to}' && find . -print`)).out.split('\n').filter(Boolean);
      expect(names.filter((n) => /pwned/.test(n)), `cp ${flag}`).toEqual([]);
      expect(fs.readdirSync(outer!)).toEqual(['dest']);
      expect(canaries.record()).toEqual(canaries.original);
    }
    // ls shows one component per entry, never `.`/`..` twice, never a path.
    const ls = await dboxLine('ls -a /containers/evil-exec/data', env());
    const listed = ls.out.split('\n').filter(Boolean);
    expect(listed.filter((n) => n.includes('/')), ls.out).toEqual([]);
    expect(listed.filter((n) => n === '.' || n === '..')).toHaveLength(listed.includes('.') ? 2 : 0);
  });

  it('F3 tar streams that lie (../ and absolute names, a file through a symlink, a hard link outside, a pax rename, a short body) never write outside the destination', async () => {
    for (const flag of ['-r', '-a']) {
      const to = freshDest(`tar${flag}`);
      await dboxLine(`cp ${flag} /containers/evil-tar/data ${to}/`, env());
      const names = (await sh(`cd '${to}' && find . -print`)).out;
      expect(names, `cp ${flag}`).not.toMatch(/pwned/);
      expect((await sh(`find '${to}' \\( -type c -o -type b \\) -print`)).out, `cp ${flag}: a device node from a tar`).toBe('');
      expect(canaries.record()).toEqual(canaries.original);
    }
    const cat = await dboxLine('cat /containers/evil-tar/data/ok.txt', env());
    expect(canaries.leaks(cat.stdout)).toBe(false);
    const short = await dboxLine('cat /containers/evil-tar/data/short', env(), {deadlineMs: 30_000});
    expect(short.timedOut).toBe(false);
    expect(short.status, 'a body shorter than its header says is an error').not.toBe(0);
    expect(short.err).toContain('/data/short');
    const ls = await dboxLine('ls -laR /containers/evil-tar/data', env());
    expect(ls.out).not.toMatch(/pwned-tar-(dotdot|abs|pax)/);
  });

  it('F9 container names with \\n, \\t, /, .., ESC never inject a control line into the mount', async () => {
    const mnt = world.mkdir('mnt9');
    const m = await dboxArgs(['mount', mnt], env(), {deadlineMs: 60_000});
    expect(m.status, m.err).toBe(0);
    try {
      const names = (await sh(`timeout 10 ls -1a '${mnt}'`)).out.split('\n').filter(Boolean);
      expect(names).not.toContain('pwn');
      for (const n of names.filter((x) => x !== '.' && x !== '..')) {
        const r = await sh(`timeout 10 cat '${mnt}/${n}${canaries.file}' '${mnt}/${n}/root${canaries.rootFile}' '${mnt}/${n}${canaries.rootFile}' 2>/dev/null`);
        expect(canaries.leaks(r.stdout), `${JSON.stringify(n)}: ${r.out}`).toBe(false);
      }
      const pwn = await sh(`timeout 10 ls '${mnt}/pwn${path.dirname(canaries.file)}'`);
      expect(pwn.out, 'the host / mapped into the mount').not.toContain(path.basename(canaries.file));
    } finally {
      await dboxArgs(['umount', mnt], env());
      await waitFor(() => mountsUnder(mnt).length === 0, 10_000);
    }
  });

  it('F9 container names from the engine: ls shows no path, no control byte; a terminal gets no escape', async () => {
    for (const line of ['ls /containers', 'ls -l /containers', 'ls -1 /containers']) {
      const r = await dboxLine(line, env());
      for (const row of r.out.split('\n').filter(Boolean)) {
        const name = line === 'ls -l /containers' ? row.split(' ').at(-1)! : row;
        expect(name, `${line}: ${JSON.stringify(row)}`).not.toMatch(/[\x00-\x1f\x7f]|\/|^\.\.?$/);
      }
      const t = await onTerminal(line, env());
      expect(rawEscapes(t.stdout), `${line} on a terminal`).toEqual([]);
    }
  });

  it('F4/F9 an id that is not hex never becomes a host path (attach state, --cleanup)', async () => {
    for (const method of ['upload', 'mount-api']) {
      await dboxArgs(['attach', 'evil-id', toolbox, '--method', method, '--at', `/dbox-adv-at-${process.pid}`, '--', '/bin/true'], env(), {deadlineMs: 60_000});
      expect(fs.readdirSync(canaries.dir).filter((n) => n.startsWith('pwned')), method).toEqual([]);
    }
    await dboxArgs(['attach', 'evil-id', '--cleanup'], env(), {deadlineMs: 60_000});
    expect(canaries.record()).toEqual(canaries.original);
  });

  it('Medium mount lifecycle: the background mount survives its first warning', async () => {
    const mnt = world.mkdir('mntwarn');
    const m = await dboxArgs(['mount', mnt], env(), {deadlineMs: 60_000});
    expect(m.status, m.err).toBe(0);
    try {
      // An answer the mount cannot make sense of (a tar body shorter than its header): an error, maybe a warning.
      await sh(`timeout 10 cat '${mnt}/evil-tar/data/short' >/dev/null 2>&1; timeout 10 cat '${mnt}/evil-tar/data/short' >/dev/null 2>&1; true`);
      const after = await sh(`timeout 10 cat '${mnt}/ok-name/data/ok.txt'`);
      expect(after.out, 'the mount died after a warning').toBe('ok\n');
      expect(mountsUnder(mnt)).toHaveLength(1);
    } finally {
      await dboxArgs(['umount', mnt], env());
      await waitFor(() => mountsUnder(mnt).length === 0, 10_000);
    }
  });

  it('Low the mount\'s errors and stack traces never land in the middle of the interactive prompt', async () => {
    const session = `dbox-adv-fe-${process.pid}`;
    const e = env();
    const vars = ['NO_COLOR', 'XDG_RUNTIME_DIR', 'TMPDIR', 'DOCKER_HOST'].map((k) => `${k}='${e[k]}'`).join(' ');
    await sh(`tmux new-session -d -s ${session} -x 200 -y 50 "${vars} ${process.execPath} ${dboxPath}"`);
    const screen = async (): Promise<string> => (await sh(`tmux capture-pane -p -t ${session}`)).out;
    try {
      expect(await waitFor(async () => /dbox:/.test(await screen()), 20_000)).toBe(true);
      await sh(`tmux send-keys -t ${session} -l "cat /containers/evil-tar/data/short > /dev/null; echo done-marker"`);
      await sh(`tmux send-keys -t ${session} Enter`);
      expect(await waitFor(async () => /^done-marker/m.test(await screen()), 30_000), await screen()).toBe(true);
      // Give the background mount's own output, if any, its chance to arrive: the next prompt is drawn after it.
      await sh(`tmux send-keys -t ${session} -l "echo second-marker"`);
      await sh(`tmux send-keys -t ${session} Enter`);
      expect(await waitFor(async () => /^second-marker/m.test(await screen()), 30_000)).toBe(true);
      expect(await screen(), 'a stack trace on the screen').not.toMatch(/^\s+at \S+.*\(.*:\d+:\d+\)/m);
    } finally {
      await endSession(session, world);
    }
  });

  it('Medium mount lifecycle: after an engine restart of more than a second, the mount follows events again', async () => {
    const mnt = world.mkdir('mntlife');
    const containersBefore = fake.containers;
    const m = await dboxArgs(['mount', mnt], env(), {deadlineMs: 60_000});
    expect(m.status, m.err).toBe(0);
    try {
      expect((await sh(`timeout 10 ls '${mnt}'`)).out).toContain('ok-name');
      // Control: before any restart, an event is followed (the fake engine's events are well formed).
      const before = plainContainer({name: 'before-restart', state: 'exited', dirs: ['/data']});
      fake.containers = [...fake.containers, before];
      const followed = await waitFor(async () => {
        fake.emit(before.id, 'create');
        return (await sh(`timeout 5 ls '${mnt}'`)).out.includes('before-restart');
      }, 20_000, 500);
      expect(followed, 'control: an event before the restart').toBe(true);
      await fake.restart(2500);
      const later = plainContainer({name: 'later-than-restart', state: 'exited', dirs: ['/data'], files: {'/data/ok.txt': 'later\n'}});
      fake.containers = [...fake.containers, later];
      // The engine is back: its events must be followed again (a re-sent event each poll, as an engine would on a new create).
      const seen = await waitFor(async () => {
        fake.emit(later.id, 'create');
        return (await sh(`timeout 5 ls '${mnt}'`)).out.includes('later-than-restart');
      }, 20_000, 500);
      expect(seen, 'the mount never saw the container created after the restart').toBe(true);
    } finally {
      fake.containers = containersBefore; // the other cases see the engine as it was
      await dboxArgs(['umount', mnt], env());
      await waitFor(() => mountsUnder(mnt).length === 0, 10_000);
    }
  });
});
