// Adversarial suite, part 5: what happens around a copy or a mount when something ends or changes
// under it. A host file whose reads the test holds (lib/slow-source.ts) puts dbox in the middle of a
// copy as a state to wait for, never a time to guess.
//   F8     an engine event (restart) while a multi-file cp runs in the interactive shell: no file
//          lands in another container.
//   Medium copies into a stopped container: kill -9 and Ctrl-C mid-copy never destroy the existing
//          file; Ctrl-C gives a non-zero status; what kill -9 left goes with the next dbox.
//   Medium `dbox mount DIR --foreground` ended by SIGTERM leaves no mount (the engine mount too).
//   Low    the temporary of a copy killed with -9 is gone after the next copy to that place.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, requireEngine} from '../integration/engine.js';
import {makeCanaries, type Canaries} from './lib/canary.js';
import {buildHostileImage, containerFile, createdContainer, runContainer, type HostileImage} from './lib/hostile.js';
import {clean, dboxLine, endSession, gone, killTree, leftovers, makeWorld, mountsUnder, start, sweep, temporariesUnder, waitFor, type World} from './lib/run.js';
import {slowSource, type SlowSource} from './lib/slow-source.js';

const hasEngine = requireEngine();
const docker = (c: string, ...args: string[]): string => execFileSync('docker', ['exec', c, ...args], {encoding: 'utf8'});
const MB = 1 << 20;

describe.runIf(hasEngine)('adversarial: lifecycle of copies and mounts', () => {
  let world: World;
  let canaries: Canaries;
  let image: HostileImage;
  let slow: SlowSource;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => world.env(extra);

  beforeAll(async () => {
    world = makeWorld('life');
    canaries = makeCanaries(world.base);
    image = buildHostileImage('life', world.base, canaries);
    slow = await slowSource(world.mkdir('slow'));
    world.ownMounts.push(slow.mnt);
  });

  afterEach(() => {
    const left = leftovers(world);
    const now = canaries.record();
    if (JSON.stringify(now) !== JSON.stringify(canaries.original)) canaries.restore();
    sweep(world);
    expect(now, 'host canaries changed').toEqual(canaries.original);
    expect(left, 'left behind').toEqual(clean);
  });

  afterAll(async () => {
    await slow?.close();
    image?.cleanup();
    canaries?.cleanup();
    world?.cleanup();
  });

  it('F8 an engine restart during a multi-file cp in the interactive shell never puts a file into another container', async () => {
    const a = runContainer(image.tag, 'adv-f8-a');
    const b = runContainer(image.tag, 'adv-f8-b');
    const session = `dbox-adv-f8-${process.pid}`;
    const src = slow.file('f8-big', 8 * MB, MB);
    try {
      for (const c of [a, b]) execFileSync('docker', ['exec', c, 'mkdir', '/dest']);
      const e = env();
      const vars = ['NO_COLOR', 'XDG_RUNTIME_DIR', 'TMPDIR'].map((k) => `${k}='${e[k]}'`).join(' ');
      spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', `${vars} ${process.execPath} ${dboxPath}`]);
      const screen = (): string => execFileSync('tmux', ['capture-pane', '-p', '-t', session], {encoding: 'utf8'});
      expect(await waitFor(() => /dbox:/.test(screen()), 20_000), screen()).toBe(true);
      spawnSync('tmux', ['send-keys', '-t', session, '-l', `cp ${src.path} /containers/${b}/data/hello.txt /containers/${b}/etc/marker /containers/${a}/dest/`]);
      spawnSync('tmux', ['send-keys', '-t', session, 'Enter']);
      expect(await waitFor(() => src.reached(), 20_000), 'the copy never reached the held read').toBe(true);
      // The engine restarts the destination container while the copy is in the middle of its first file.
      const dboxPid = Number(execFileSync('tmux', ['display-message', '-p', '-t', session, '#{pane_pid}'], {encoding: 'utf8'}).trim());
      const merged = execFileSync('docker', ['inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', a], {encoding: 'utf8'}).trim();
      const rootFds = (): number => {
        try {
          return fs.readdirSync(`/proc/${dboxPid}/fd`).filter((fd) => {
            try {
              return fs.readlinkSync(`/proc/${dboxPid}/fd/${fd}`) === merged;
            } catch {
              return false;
            }
          }).length;
        } catch {
          return 0;
        }
      };
      execFileSync('docker', ['restart', '-t', '0', a]);
      // Until dbox has taken the event (today: it closes the root it still copies into), or 10 s.
      await waitFor(() => rootFds() === 0, 10_000, 50);
      src.release();
      const promptBack = (): boolean => {
        const lines = screen().trimEnd().split('\n');
        return /dbox:.*\$$/.test(lines.at(-1)!) && lines.slice(0, -1).some((l) => l.includes(`cp ${src.path}`));
      };
      expect(await waitFor(promptBack, 30_000), screen()).toBe(true);
      const inB = execFileSync('docker', ['exec', b, 'ls', '-a', '/dest'], {encoding: 'utf8'}).split('\n').filter(Boolean);
      expect(inB, `a file meant for ${a} landed in ${b}; screen:\n${screen()}`).toEqual(['.', '..']);
      const inA = execFileSync('docker', ['exec', a, 'ls', '-a', '/dest'], {encoding: 'utf8'}).split('\n').filter(Boolean);
      expect(inA.filter((n) => n.includes('.dbox-')), 'a temporary in the destination').toEqual([]);
      // Each file is in A, or cp said why not.
      for (const n of ['f8-big', 'hello.txt', 'marker']) {
        if (!inA.includes(n)) expect(screen(), `${n} is neither in ${a} nor reported`).toMatch(new RegExp(`cp: .*${n}`));
      }
    } finally {
      src.release();
      await endSession(session, world);
      spawnSync('docker', ['rm', '-f', a, b], {stdio: 'ignore'});
    }
  });

  for (const how of ['SIGKILL', 'SIGINT'] as const) {
    it(`Medium a copy into a stopped container ended by ${how} never destroys the file it replaces`, async () => {
      const s = createdContainer(image.tag, `adv-stopped-${how.toLowerCase()}`);
      const src = slow.file(`stopped-${how}`, 4 * MB, MB);
      try {
        const before = containerFile(s, '/data/hello.txt');
        expect(before?.toString()).toBe('hello from the container\n');
        const run = start(['-c', `cp ${src.path} /containers/${s}/data/hello.txt`], {env: env(), deadlineMs: 60_000});
        expect(await waitFor(() => src.reached() || gone(run.child.pid!), 20_000), 'the copy never reached the held read').toBe(true);
        if (how === 'SIGKILL') killTree(run.child.pid, 'SIGKILL');
        else process.kill(run.child.pid!, 'SIGINT');
        // Ctrl-C must stop the copy: the rest of the bytes are let through, so an ignored Ctrl-C completes it.
        src.release();
        const r = await run.done;
        expect(r.timedOut).toBe(false);
        const after = containerFile(s, '/data/hello.txt');
        expect(after?.toString(), `${how}: the file in the stopped container`).toBe(before?.toString());
        if (how === 'SIGINT') expect(r.status, 'Ctrl-C ended the copy with status 0').not.toBe(0);
        // kill -9 of dbox and all its processes leaves its session files (socket, client) to the
        // next dbox, which removes them as it starts (afterEach checks that nothing is left then).
        if (how === 'SIGKILL') expect((await dboxLine('true', env())).status).toBe(0);
      } finally {
        src.release();
        spawnSync('docker', ['rm', '-f', s], {stdio: 'ignore'});
      }
    });
  }

  for (const how of ['SIGTERM', 'SIGHUP'] as const) {
    it(`Medium a copy ended by ${how} (dbox alone) leaves no temporary, into a container or onto the host, and dbox dies by it`, async () => {
      const c = runContainer(image.tag, `adv-${how.toLowerCase()}`);
      const dest = world.mkdir(`dest-${how}`);
      try {
        docker(c, 'mkdir', '-p', '/dest');
        for (const to of [`/containers/${c}/dest/`, `${dest}/`]) {
          const src = slow.file(`${how}-${to.length}`, 4 * MB, MB);
          const run = start(['-c', `cp ${src.path} ${to}`], {env: env(), deadlineMs: 60_000});
          expect(await waitFor(() => src.reached() || gone(run.child.pid!), 20_000), 'the copy never reached the held read').toBe(true);
          process.kill(run.child.pid!, how);
          // The rest of the bytes are let through: a signal that did not stop the copy completes it.
          src.release();
          const r = await run.done;
          expect({timedOut: r.timedOut, signal: r.signal}).toEqual({timedOut: false, signal: how});
          const left = to === `${dest}/` ? fs.readdirSync(dest) : docker(c, 'ls', '-a', '/dest').split('\n').filter((n) => n && n !== '.' && n !== '..');
          expect(left, `${how}: what is left at ${to}`).toEqual([]);
        }
      } finally {
        spawnSync('docker', ['rm', '-f', c], {stdio: 'ignore'});
      }
    });
  }

  it('Medium dbox mount --foreground ended by SIGTERM leaves no mount behind (the engine mount included)', async () => {
    const mnt = world.mkdir('mnt');
    const run = start(['mount', mnt, '--foreground'], {env: env(), deadlineMs: 60_000, input: null});
    expect(await waitFor(() => mountsUnder(mnt).length > 0, 20_000), 'never mounted').toBe(true);
    process.kill(run.child.pid!, 'SIGTERM');
    const r = await run.done;
    expect(r.timedOut).toBe(false);
    const ours = (): string[] => [...mountsUnder(world.base), ...mountsUnder(world.runtime)].filter((m) => m !== slow.mnt);
    expect(await waitFor(() => ours().length === 0, 5_000), `left: ${ours().join(', ')}`).toBe(true);
  });

  it('Low the temporary of a copy killed with -9 is gone after the next copy to that place', async () => {
    const dest = world.mkdir('dest-kill');
    const src = slow.file('killed', 4 * MB, MB);
    const run = start(['-c', `cp ${src.path} ${dest}/killed`], {env: env(), deadlineMs: 60_000});
    try {
      expect(await waitFor(() => src.reached(), 20_000)).toBe(true);
      killTree(run.child.pid, 'SIGKILL');
      // A read held in this process may keep the killed one in the kernel until it is answered.
      src.release();
      await run.done;
    } finally {
      src.release();
    }
    const small = path.join(world.base, 'small.txt');
    fs.writeFileSync(small, 'small\n');
    const r = await dboxLine(`cp ${small} ${dest}/killed`, env());
    expect(r.status, r.err).toBe(0);
    expect(temporariesUnder(dest), 'a temporary of the killed copy').toEqual([]);
    expect(fs.readFileSync(path.join(dest, 'killed'), 'utf8')).toBe('small\n');
  });
});
