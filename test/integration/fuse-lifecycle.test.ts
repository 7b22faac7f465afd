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
import {until} from './wait.js';

const hasEngine = requireEngine();

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

const FUSE_SUPER_MAGIC = 0x65735546;
/** The FUSE connection number of a device number (its minor, as glibc's minor()). */
const connectionOf = (dev: number): number => (dev & 0xff) | ((dev >> 12) & 0xfff00);
/**
 * The engine mount of mount process `pid`: a FUSE file system it holds by descriptor that is in no
 * mount table (detached: mounts.ts hideMount). Its connection number, to watch it go.
 */
function hiddenEngineMount(pid: number): number | undefined {
  const listed = new Set(mountTable(pid).map((m) => m.id));
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const id = Number(/mnt_id:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1]);
      const at = `/proc/${pid}/fd/${fd}`;
      if (listed.has(id) || fs.statfsSync(at).type !== FUSE_SUPER_MAGIC) continue;
      return connectionOf(fs.statSync(at).dev);
    } catch { /* closed meanwhile, or not a file system's */ }
  }
  return undefined;
}
const FUSECTL = '/sys/fs/fuse/connections';
/** Whether FUSE connection `conn` still exists (its super block: a mount, attached or not, or an open file). */
const connectionLives = (conn: number): boolean => fs.existsSync(`${FUSECTL}/${conn}`);
/**
 * fusectl mounted, so that connections can be watched: a machine need not have it (CI's has not;
 * dbox mounts it only when it aborts a dead connection). Returns whether this call mounted it.
 */
function ensureFusectl(): boolean {
  if (mountTable().some((m) => m.mountPoint === FUSECTL)) return false;
  execFileSync('mount', ['-t', 'fusectl', 'fusectl', FUSECTL]);
  return true;
}

describe.runIf(hasEngine)('the mount lifecycle', () => {
  let fixture: Fixture;
  let c: string;
  let runtime: string;
  let work: string;
  let mountedFusectl = false;
  const env = (): NodeJS.ProcessEnv => ({...process.env, XDG_RUNTIME_DIR: runtime});

  beforeAll(() => {
    mountedFusectl = ensureFusectl();
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
    if (mountedFusectl) spawnSync('umount', [FUSECTL]);
  });

  /**
   * `dbox mount DIR --foreground`, started here; resolves once both of its mounts are up: DIR, and
   * the engine mount behind it, held by descriptor and in no mount table (its directory under the
   * runtime directory made and removed again). `engine` is the engine mount's FUSE connection.
   */
  async function foreground(dir: string, parentPipe = false): Promise<{child: ChildProcess; engine: number}> {
    const child = spawn(process.execPath, [dboxPath, 'mount', dir, '--foreground', ...(parentPipe ? ['--parent-pipe'] : [])],
      {env: env(), stdio: ['pipe', 'ignore', 'pipe']});
    let engine: number | undefined;
    await until('the mount', () => mountsBelow(dir).length === 1 && (engine = hiddenEngineMount(child.pid!)) !== undefined);
    await until('the containers in the mount', () => fs.existsSync(path.join(dir, c)));
    expect(mountsBelow(runtime)).toEqual([]);
    expect(fs.existsSync(path.join(runtime, 'dbox', String(child.pid)))).toBe(false);
    expect(connectionLives(engine!)).toBe(true);
    return {child, engine: engine!};
  }

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('%s on `dbox mount --foreground` leaves nothing mounted and no directory it made', async (signal) => {
    const dir = path.join(work, `fg-${signal}`);
    fs.mkdirSync(dir);
    const {child, engine} = await foreground(dir);
    expect(fs.readFileSync(path.join(dir, c, 'data/f'), 'utf8')).toBe('data\n');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    expect(mountsBelow(dir)).toEqual([]);
    expect(mountsBelow(runtime)).toEqual([]);
    expect(fs.existsSync(path.join(runtime, 'dbox', String(child.pid)))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]); // the user's directory stays, empty
    await until('the engine mount to go with its process', () => !connectionLives(engine));
  });

  it('EOF from the parent (--parent-pipe) ends the mount the same way', async () => {
    const dir = path.join(work, 'fg-eof');
    const {child, engine} = await foreground(dir, true);
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.end();
    await exited;
    expect(mountsBelow(dir)).toEqual([]);
    expect(mountsBelow(runtime)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false); // made by the mount: removed
    await until('the engine mount to go with its process', () => !connectionLives(engine));
  });

  it('dbox-fuse killed under `dbox mount --foreground`: the mount process says so and ends with status 1, nothing mounted', async () => {
    const dir = path.join(work, 'fg-fuse-killed');
    const {child, engine} = await foreground(dir);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    process.kill(fuseServerOf(dir), 'SIGKILL');
    expect(await exited).toBe(1);
    // Its stderr may still be in the pipe when the exit is seen (and a process it started may hold it open).
    await until('the message on stderr', () => stderr.includes('dbox-fuse failed (killed by SIGKILL)'));
    expect(mountsBelow(dir)).toEqual([]);
    expect(mountsBelow(runtime)).toEqual([]);
    await until('the engine mount to go with its process', () => !connectionLives(engine));
  });

  it('`dbox mount --help` prints the usage and mounts nothing; an unknown option is refused with status 2', () => {
    const cwd = fs.mkdtempSync(path.join(work, 'help-'));
    const help = spawnSync(process.execPath, [dboxPath, 'mount', '--help'], {cwd, env: env(), encoding: 'utf8'});
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('dbox mount DIR');
    const bogus = spawnSync(process.execPath, [dboxPath, 'mount', '--bogus', 'x'], {cwd, env: env(), encoding: 'utf8'});
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/^dbox: mount: unrecognized option '--bogus'\n/);
    expect(fs.readdirSync(cwd)).toEqual([]);
    expect(mountsBelow(cwd)).toEqual([]);
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
    await until('the mount to follow the churn', () => !fs.readdirSync(dir).some((n) => n.startsWith('dbox-life-churn')));
    expect(alive(server) && alive(fuse)).toBe(true);
    expect(fs.statSync(log).size).toBeGreaterThanOrEqual(size); // (it may or may not have had to say something)
    expect(fs.readFileSync(path.join(dir, c, 'data/f'), 'utf8')).toBe('data\n');
    expect(spawnSync(process.execPath, [dboxPath, 'umount', dir], {env: env()}).status).toBe(0);
    await until('the mount processes to end', () => !alive(server) && !alive(fuse));
    expect(mountsBelow(runtime)).toEqual([]);
  });

  it('the shell: its mount runs in another session, logs to the file, and starts again after it was killed', async () => {
    const state = path.join(work, 'state');
    const shell = spawn(process.execPath, [dboxPath], {env: {...env(), XDG_STATE_HOME: state}, stdio: ['pipe', 'pipe', 'pipe'], detached: true});
    let out = '';
    let err = '';
    shell.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    shell.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    // The session's mount: dbox's child (dbox-ns joins the session's namespace and execs it), mounted
    // on /containers there; dbox-fuse below it.
    const mountOf = (): number => Number(execFileSync('pgrep', ['-P', String(shell.pid), '-f', 'dbox.js mount /containers --foreground'], {encoding: 'utf8'}).trim());
    const fuseOf = (server: number): number => Number(execFileSync('pgrep', ['-P', String(server), '-f', 'dbox-fuse /containers$'], {encoding: 'utf8'}).trim());
    const hostMounts = (): string[] => mountTable().map((m) => m.mountPoint);
    try {
      // /bin/cat: an external command, through the mount (dbox's own cat would read the container itself).
      shell.stdin!.write(`/bin/cat /containers/${c}/data/f | wc -l\n`);
      await until('the first external command', () => out.includes('1\n'));
      const server = mountOf();
      // Ctrl-C at a terminal signals the foreground process group: the mount is in none of the
      // shell's groups, nor in its session (no SIGHUP when the terminal goes).
      expect(sessionOf(server)).not.toBe(sessionOf(shell.pid!));
      expect(groupOf(server)).not.toBe(groupOf(shell.pid!));
      const fuse = fuseOf(server);
      const log = path.join(state, 'dbox', 'mount.log');
      for (const pid of [server, fuse]) expect(fs.readlinkSync(`/proc/${pid}/fd/2`)).toBe(log);
      // Mounted in the session's namespace only: the host's mount table has nothing of it.
      expect(mountTable(server).filter((m) => m.mountPoint === '/containers').map((m) => m.fstype.split('.')[0])).toEqual(['fuse']);
      expect(fs.readlinkSync(`/proc/${server}/ns/mnt`)).not.toBe(fs.readlinkSync('/proc/self/ns/mnt'));
      expect(hostMounts().filter((m) => m === '/containers' || m === '/hosts' || m.startsWith(`${runtime}/`))).toEqual([]);
      const engine = hiddenEngineMount(server)!;
      expect(engine).toBeDefined();
      // Killed from outside: it is started again, with a one-line notice, and the next command works.
      process.kill(fuse, 'SIGKILL');
      process.kill(server, 'SIGKILL');
      await until('the mount process to die', () => !alive(server));
      await until('the killed mount\'s engine mount to go', () => !connectionLives(engine));
      await until('the notice', () => err.includes('started it again'));
      // Lines read from a pipe do not wait for a mount that is starting again (the prompt does): wait
      // here until the new mount serves the container in the session's namespace.
      let restarted = 0;
      await until('the mount to be up again', () => {
        try {
          restarted = mountOf();
          return restarted !== server && fs.existsSync(`/proc/${restarted}/root/containers/${c}/data/f`);
        } catch {
          return false;
        }
      });
      shell.stdin!.write(`/bin/cat /containers/${c}/data/f | wc -c\n`);
      await until('the command after the restart', () => out.includes('5\n')).catch((e: Error) => { throw new Error(`${e.message}: out ${JSON.stringify(out)} err ${JSON.stringify(err)}`); });
      expect(mountOf()).toBe(restarted);
      expect(sessionOf(restarted)).not.toBe(sessionOf(shell.pid!));
      // Nothing of the mount on the terminal but the notice (dbox-fuse's end or SIGKILL, whichever came first).
      expect(err).toMatch(/^dbox: the mount of \/containers stopped \((killed by SIGKILL|exit status \d+)\); started it again \(log: .*mount\.log\)\n$/);
      const last = restarted;
      const lastFuse = fuseOf(last);
      const lastEngine = hiddenEngineMount(last)!;
      shell.stdin!.end();
      await until('the shell to exit', () => !alive(shell.pid!));
      // dbox ends its mount as it exits: no process, no engine mount, nothing on the host.
      await until('the mount processes to end', () => !alive(last) && !alive(lastFuse));
      await until('the engine mount to go', () => !connectionLives(lastEngine));
      expect(hostMounts().filter((m) => m === '/containers' || m === '/hosts' || m.startsWith(`${runtime}/`))).toEqual([]);
      expect(fs.readdirSync(path.join(runtime, 'dbox')).filter((n) => /^\d+$/.test(n))).toEqual([]);
    } finally {
      shell.stdin!.end();
      await until('the shell to exit', () => !alive(shell.pid!)).catch(() => shell.kill('SIGKILL'));
    }
  });

  it('after `docker restart` the container is served again and no descriptor is left on its old tree', async () => {
    const dir = path.join(work, 'restart');
    const {child} = await foreground(dir);
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
      await until('dbox-fuse to let go of the old tree', () => !fdMounts(fuse).includes(oldRoot) && fdMounts(fuse).includes(newRoot));
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
