// The mount's lifecycle (issue 10, "the mount's lifecycle"; issue 11, item 1): every way a mount
// process ends leaves nothing mounted and no directory it made; its messages go to a log file,
// never to a launcher's pipe (EPIPE killed it) or a terminal; it runs in its own session; a
// container restarted under it is served again without a descriptor left on its old tree.
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {mountTable} from '../../src/fuse/mounts.js';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Mount points below `dir`, as the kernel lists them. */
const mountsBelow = (dir: string): string[] => mountTable().map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(`${dir}/`));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};
/** The pid of dbox-fuse serving `mnt`. */
const fuseServerOf = (mnt: string): number => Number(execFileSync('pgrep', ['-f', `dbox-fuse ${mnt}$`], {encoding: 'utf8'}).trim());
/** Process group and session of `pid` (from /proc/<pid>/stat, after the command name). */
const groupOf = (pid: number): string => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(2, 4).join(' ');
const sessionOf = (pid: number): string => groupOf(pid).split(' ')[1]!;
/** Mount ids of the descriptors process `pid` holds. */
const fdMounts = (pid: number): number[] => fs.readdirSync(`/proc/${pid}/fdinfo`).flatMap((fd) => {
  try {
    return [Number(/mnt_id:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1])];
  } catch {
    return [];
  }
});

describe.runIf(hasEngine)('the mount lifecycle', () => {
  let fixture: Fixture;
  let c: string;
  let runtime: string;
  let work: string;
  const env = (): NodeJS.ProcessEnv => ({...process.env, XDG_RUNTIME_DIR: runtime});

  beforeAll(() => {
    fixture = makeFixture('life', {'data/f': 'data\n'});
    c = fixture.run('c');
    runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-life-run-'));
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-life-'));
  });
  afterAll(() => {
    for (const m of mountsBelow(runtime).concat(mountsBelow(work)).reverse()) spawnSync('umount', ['-l', m]);
    fixture?.cleanup();
    fs.rmSync(runtime, {recursive: true, force: true});
    fs.rmSync(work, {recursive: true, force: true});
  });

  /** `dbox mount DIR --foreground`, started here; resolves once both of its mounts are up. */
  async function foreground(dir: string, parentPipe = false): Promise<ChildProcess> {
    const child = spawn(process.execPath, [dboxPath, 'mount', dir, '--foreground', ...(parentPipe ? ['--parent-pipe'] : [])],
      {env: env(), stdio: ['pipe', 'ignore', 'pipe']});
    await until(() => mountsBelow(dir).length === 1 && mountsBelow(path.join(runtime, 'dbox', String(child.pid))).length === 1, 'the mount');
    await until(() => fs.existsSync(path.join(dir, c)), 'the containers in the mount');
    return child;
  }

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('%s on `dbox mount --foreground` leaves nothing mounted and no directory it made', async (signal) => {
    const dir = path.join(work, `fg-${signal}`);
    fs.mkdirSync(dir);
    const child = await foreground(dir);
    expect(fs.readFileSync(path.join(dir, c, 'data/f'), 'utf8')).toBe('data\n');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    expect(mountsBelow(dir)).toEqual([]);
    expect(mountsBelow(runtime)).toEqual([]);
    expect(fs.existsSync(path.join(runtime, 'dbox', String(child.pid)))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]); // the user's directory stays, empty
  });

  it('EOF from the parent (--parent-pipe) ends the mount the same way', async () => {
    const dir = path.join(work, 'fg-eof');
    const child = await foreground(dir, true);
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.end();
    await exited;
    expect(mountsBelow(dir)).toEqual([]);
    expect(mountsBelow(runtime)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false); // made by the mount: removed
  });

  it('`dbox mount DIR` outlives its launcher: messages go to the log, a warning does not kill it, it has its own session', async () => {
    const dir = path.join(work, 'bg');
    fs.mkdirSync(dir);
    const r = spawnSync(process.execPath, [dboxPath, 'mount', dir], {env: env(), encoding: 'utf8'});
    expect(r.stdout).toBe(`${dir}\n`);
    const server = Number(execFileSync('pgrep', ['-f', `dbox.js mount ${dir} --foreground`], {encoding: 'utf8'}).trim());
    const fuse = fuseServerOf(dir);
    const log = path.join(runtime, 'dbox', 'mount.log');
    for (const pid of [server, fuse]) expect(fs.readlinkSync(`/proc/${pid}/fd/2`)).toBe(log);
    expect(sessionOf(server)).not.toBe(sessionOf(process.pid));
    // Warnings now: containers that vanish between the engine's list and dbox-fuse opening their
    // trees are answered with errors, which the mount process logs.
    const size = fs.statSync(log).size;
    for (let i = 0; i < 6; i++) {
      const n = `dbox-life-churn-${process.pid}-${i}`;
      spawnSync('docker', ['create', '--network', 'none', '--name', n, fixture.tag, 'true'], {stdio: 'ignore'});
      spawnSync('docker', ['rm', n], {stdio: 'ignore'});
    }
    await until(() => !fs.readdirSync(dir).some((n) => n.startsWith('dbox-life-churn')), 'the mount to follow the churn');
    expect(alive(server) && alive(fuse)).toBe(true);
    expect(fs.statSync(log).size).toBeGreaterThanOrEqual(size); // (it may or may not have had to say something)
    expect(fs.readFileSync(path.join(dir, c, 'data/f'), 'utf8')).toBe('data\n');
    expect(spawnSync(process.execPath, [dboxPath, 'umount', dir], {env: env()}).status).toBe(0);
    await until(() => !alive(server) && !alive(fuse), 'the mount processes to end');
    expect(mountsBelow(runtime)).toEqual([]);
  });

  it('the shell: its mount runs in another session, logs to the file, and starts again after it was killed', async () => {
    const shell = spawn(process.execPath, [dboxPath], {env: env(), stdio: ['pipe', 'pipe', 'pipe'], detached: true});
    let out = '';
    let err = '';
    shell.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    shell.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      shell.stdin!.write(`cat /containers/${c}/data/f | wc -l\n`);
      await until(() => out.includes('1\n'), 'the first external command');
      const dir = path.join(runtime, 'dbox', String(shell.pid), 'containers');
      const server = Number(execFileSync('pgrep', ['-f', `dbox.js mount ${dir} --foreground`], {encoding: 'utf8'}).trim());
      // Ctrl-C at a terminal signals the foreground process group: the mount is in none of the
      // shell's groups, nor in its session (no SIGHUP when the terminal goes).
      expect(sessionOf(server)).not.toBe(sessionOf(shell.pid!));
      expect(groupOf(server)).not.toBe(groupOf(shell.pid!));
      expect(fs.readlinkSync(`/proc/${fuseServerOf(dir)}/fd/2`)).toBe(path.join(runtime, 'dbox', 'mount.log'));
      // Killed from outside: the next command starts a new mount.
      process.kill(fuseServerOf(dir), 'SIGKILL');
      process.kill(server, 'SIGKILL');
      await until(() => !alive(server), 'the mount process to die');
      shell.stdin!.write(`cat /containers/${c}/data/f | wc -c\n`);
      await until(() => out.includes('5\n'), 'the command after the restart').catch((e: Error) => { throw new Error(`${e.message}: out ${JSON.stringify(out)} err ${JSON.stringify(err)}`); });
      expect(err).not.toMatch(/dbox-fuse|at .*\.js/); // nothing of the mount on the terminal but a notice
    } finally {
      shell.stdin!.end();
      await until(() => !alive(shell.pid!), 'the shell to exit').catch(() => shell.kill('SIGKILL'));
    }
    await until(() => mountsBelow(runtime).length === 0, 'the mounts to go');
  });

  it('after `docker restart` the container is served again and no descriptor is left on its old tree', async () => {
    const dir = path.join(work, 'restart');
    const child = await foreground(dir);
    try {
      const oldPid = Number(docker('inspect', '-f', '{{.State.Pid}}', c));
      const rootMount = (pid: number): number => mountTable(pid).find((m) => m.mountPoint === '/')!.id;
      const oldRoot = rootMount(oldPid);
      // Known, open and walked through the mount.
      expect(execFileSync('find', [path.join(dir, c, 'data')], {encoding: 'utf8'})).toContain('data/f');
      const held = fs.openSync(path.join(dir, c, 'data/f'), 'r');
      const fuse = fuseServerOf(dir);
      expect(fdMounts(fuse)).toContain(oldRoot);
      docker('restart', '-t', '0', c);
      const newPid = Number(docker('inspect', '-f', '{{.State.Pid}}', c));
      const newRoot = rootMount(newPid);
      expect(newRoot).not.toBe(oldRoot);
      await until(() => !fdMounts(fuse).includes(oldRoot) && fdMounts(fuse).includes(newRoot), 'dbox-fuse to let go of the old tree');
      expect(fdMounts(child.pid!)).not.toContain(oldRoot);
      expect(() => fs.readSync(held, Buffer.alloc(4), 0, 4, 0)).toThrow();
      fs.closeSync(held);
      docker('exec', c, 'sh', '-c', 'echo after > /data/g');
      expect(fs.readFileSync(path.join(dir, c, 'data/g'), 'utf8')).toBe('after\n');
      expect(fs.readFileSync(path.join(dir, c, 'data/f'), 'utf8')).toBe('data\n');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
