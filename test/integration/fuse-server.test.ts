// dbox-fuse on its own, driven as Node drives it but with raw control records, so that what the C
// side trusts is tried directly: hostile names in records, roots that cannot be opened, trees
// replaced under open files and walks (revocation), more nodes than descriptors, sub-mounts whose
// inode numbers collide, and EOF on the control pipe.
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {createInterface} from 'node:readline';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {fuseHelper} from '../../src/self.js';
import {isMounted, mountAt, mountTable} from '../../src/fuse/mounts.js';

const usable = fs.existsSync(fuseHelper) && fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
if (process.env['CI'] === 'true' && !usable) throw new Error('CI=true but dbox-fuse, /dev/fuse or root is missing');

class Server {
  readonly answers: string[] = [];
  private waiting: ((line: string) => void)[] = [];
  private constructor(readonly child: ChildProcess, readonly mnt: string) {
    createInterface({input: child.stdout!}).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.answers.push(line);
    });
  }

  readonly stderr: string[] = [];

  /** DBOX_FUSE_BINARY runs another build (one with sanitizers) through the same cases. */
  static async start(mnt: string, env: NodeJS.ProcessEnv = {}, wrap: string[] = []): Promise<Server> {
    const [cmd, ...args] = [...wrap, process.env['DBOX_FUSE_BINARY'] ?? fuseHelper, mnt];
    const child = spawn(cmd!, args, {stdio: ['pipe', 'pipe', 'pipe'], env: {...process.env, ...env}});
    const server = new Server(child, mnt);
    child.stderr!.on('data', (d: Buffer) => server.stderr.push(d.toString()));
    expect(await server.line()).toBe('ready');
    return server;
  }

  line(): Promise<string> {
    const queued = this.answers.shift();
    return queued !== undefined ? Promise.resolve(queued) : new Promise((r) => this.waiting.push(r));
  }

  /** Sends raw fields (each NUL-terminated) and returns the answer. */
  async send(...fields: string[]): Promise<string> {
    this.child.stdin!.write(Buffer.from(fields.map((f) => `${f}\0`).join('')));
    return this.line();
  }

  /** The descriptors it holds: target of each, and the mount id it is on. */
  fds(): {target: string; mnt: number}[] {
    const pid = this.child.pid!;
    return fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const mnt = Number(/mnt_id:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1]);
        return [{target: fs.readlinkSync(`/proc/${pid}/fd/${fd}`), mnt}];
      } catch {
        return [];
      }
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.stdin!.end();
      await gone;
    }
    // With a sanitizer build: its report, for reading.
    if (process.env['DBOX_FUSE_STDERR']) fs.appendFileSync(process.env['DBOX_FUSE_STDERR'], this.stderr.join(''));
  }
}

/** The mount id of a directory (from an fd this process opens on it). */
function mountIdOf(dir: string): number {
  const fd = fs.openSync(dir, 'r');
  try {
    return Number(/mnt_id:\s*(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]);
  } finally {
    fs.closeSync(fd);
  }
}

describe.runIf(usable)('dbox-fuse', () => {
  let work: string;
  let mnt: string;
  let server: Server | undefined;
  const mounted: string[] = []; // bind and tmpfs mounts a case made, undone after it

  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-fs-'));
    mnt = path.join(work, 'mnt');
    fs.mkdirSync(mnt);
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    if (isMounted(mnt)) spawnSync('fusermount3', ['-u', '-z', mnt]);
    for (const m of mounted.splice(0).reverse()) spawnSync('umount', ['-l', m]);
    fs.rmSync(work, {recursive: true, force: true});
  });

  const tree = (name: string, files: Record<string, string> = {}): string => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, {recursive: true});
    for (const [p, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), {recursive: true});
      fs.writeFileSync(path.join(dir, p), content);
    }
    return dir;
  };
  const bindMount = (dir: string): void => {
    execFileSync('mount', ['--bind', dir, dir]);
    mounted.push(dir);
  };

  it('refuses records whose name is not one Docker name, and answers each one', async () => {
    server = await Server.start(mnt);
    const dir = tree('a', {'f': 'A\n'});
    for (const name of ['a\nb', 'web\t/\tw', 'x', '', '..', '.', '../etc', 'a/b', '-web', '_web', '.hidden', 'caf\u00e9', 'a'.repeat(256), '\u001b[2J']) {
      expect(await server.send('+', name, dir, 'w'), JSON.stringify(name)).toMatch(/^error .*not a container name/);
    }
    expect(fs.readdirSync(mnt)).toEqual([]);
    expect(await server.send('+', 'good-1.x_y', dir, 'w')).toBe('ok');
    expect(await server.send('+', '.hosts', dir, 'h')).toBe('ok'); // hidden: "." + a name, with h only
    expect(fs.readdirSync(mnt)).toEqual(['good-1.x_y']);
    expect(fs.readFileSync(`${mnt}/good-1.x_y/f`, 'utf8')).toBe('A\n');
    expect(fs.readFileSync(`${mnt}/.hosts/f`, 'utf8')).toBe('A\n');
    expect(await server.send('-', 'gone-already')).toBe('ok'); // removing what is not there changes nothing
  });

  it('answers an error when a tree cannot be opened, and the name it was to replace goes', async () => {
    server = await Server.start(mnt);
    const dir = tree('a', {'f': 'A\n'});
    expect(await server.send('+', 'web', dir, 'w')).toBe('ok');
    expect(await server.send('+', 'web', path.join(work, 'nope'), 'w')).toMatch(/^error web: cannot open its tree: No such file or directory$/);
    expect(await server.send('+', 'db', path.join(dir, 'f'), '')).toMatch(/^error db: cannot open its tree: Not a directory$/);
    expect(await server.send('+', 'rel', 'relative/path', '')).toMatch(/^error rel: not an absolute path/);
    expect(fs.readdirSync(mnt)).toEqual([]);
  });

  it('EOF on the control pipe unmounts and exits', async () => {
    server = await Server.start(mnt);
    expect(isMounted(mnt)).toBe(true);
    const exited = new Promise<number | null>((r) => server!.child.once('exit', (code) => r(code)));
    server.child.stdin!.end();
    expect(await exited).toBe(0);
    expect(isMounted(mnt)).toBe(false);
  });

  it('a record out of step (unknown operation) unmounts rather than guess', async () => {
    server = await Server.start(mnt);
    const exited = new Promise<number | null>((r) => server!.child.once('exit', (code) => r(code)));
    server.child.stdin!.write(Buffer.from('*\0web\0/\0w\0'));
    expect(await exited).toBe(0);
    expect(isMounted(mnt)).toBe(false);
  });

  it('raises its soft limit on descriptors to the hard one', async () => {
    server = await Server.start(mnt, {}, ['prlimit', '--nofile=256:4096']);
    const limits = fs.readFileSync(`/proc/${server.child.pid}/limits`, 'utf8');
    expect(limits).toMatch(/Max open files\s+4096\s+4096/);
  });

  it('a replaced tree is revoked: no descriptor into it stays, open files and cwds fail, the new tree is served', async () => {
    server = await Server.start(mnt);
    const old = tree('old', {'f': 'OLD\n', 'd/g': 'old g\n', 'd/e/h': 'h\n'});
    const next = tree('new', {'f': 'NEW\n'});
    bindMount(old); // a mount of its own, so every descriptor into it is seen by mount id
    const oldMount = mountIdOf(old);
    expect(await server.send('+', 'web', old, 'w')).toBe('ok');
    // Known to the kernel, open, and in use: a walk, an open file, an open directory, a cwd.
    expect(execFileSync('find', [`${mnt}/web`], {encoding: 'utf8'}).split('\n').length).toBeGreaterThan(4);
    const file = fs.openSync(`${mnt}/web/d/g`, 'r');
    const dir = fs.opendirSync(`${mnt}/web/d`);
    const sh = spawn('sh', ['-c', 'read x; cat g 2>&1; ls 2>&1; touch made 2>&1; echo done'], {cwd: `${mnt}/web/d`, stdio: ['pipe', 'pipe', 'inherit']});
    expect(server.fds().some((f) => f.mnt === oldMount)).toBe(true);

    expect(await server.send('+', 'web', next, 'w')).toBe('ok');
    expect(server.fds().filter((f) => f.mnt === oldMount)).toEqual([]);
    const buf = Buffer.alloc(16);
    expect(() => fs.readSync(file, buf, 0, 16, 0)).toThrow();
    expect(() => dir.readSync()).toThrow();
    let out = '';
    sh.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const shDone = new Promise((r) => sh.once('exit', r));
    sh.stdin!.end('go\n');
    await shDone;
    expect(out).not.toContain('old g');
    expect(out).toMatch(/Stale file handle|No such file|Input\/output error/);
    expect(fs.readdirSync(old)).toEqual(['d', 'f']); // nothing was made in the old tree
    expect(fs.readFileSync(`${mnt}/web/f`, 'utf8')).toBe('NEW\n');
    fs.closeSync(file);
    dir.closeSync();
    // Nothing holds the old tree: it unmounts without -l.
    expect(spawnSync('umount', [old]).status).toBe(0);
    mounted.pop();
  });

  it('the same tree given again (an engine that reconnected) changes nothing', async () => {
    server = await Server.start(mnt);
    const dir = tree('a', {'f': 'A\n'});
    expect(await server.send('+', 'web', dir, 'w')).toBe('ok');
    const file = fs.openSync(`${mnt}/web/f`, 'r');
    expect(await server.send('+', 'web', dir, 'w')).toBe('ok');
    const buf = Buffer.alloc(2);
    expect(fs.readSync(file, buf, 0, 2, 0)).toBe(2);
    fs.closeSync(file);
  });

  it('keeps at most DBOX_FUSE_MAX_FDS node descriptors, and reopens evicted nodes on use', async () => {
    server = await Server.start(mnt, {DBOX_FUSE_MAX_FDS: '64'});
    const files: Record<string, string> = {};
    for (let d = 0; d < 20; d++) for (let f = 0; f < 100; f++) files[`d${d}/s/f${f}`] = `${d}/${f}\n`;
    const dir = tree('big', files);
    expect(await server.send('+', 'web', dir, 'w')).toBe('ok');
    const before = server.fds().length;
    expect(execFileSync('find', [`${mnt}/web`, '-type', 'f'], {encoding: 'utf8'}).trim().split('\n')).toHaveLength(2000);
    const after = server.fds();
    expect(after.filter((f) => f.target.startsWith(dir)).length).toBeLessThanOrEqual(64 + 2);
    // Beyond node fds: libfuse's splice pipes, two per worker thread (at most 16).
    expect(after.length).toBeLessThanOrEqual(before + 64 + 2 + 32);
    // Every file again (most were evicted), by stat and by content.
    for (const [p, content] of Object.entries(files)) expect(fs.readFileSync(`${mnt}/web/${p}`, 'utf8')).toBe(content);
    // A file renamed behind the mount's back: its old name answers ENOENT, its new name works.
    fs.renameSync(`${dir}/d0/s/f0`, `${dir}/d0/s/renamed`);
    expect(fs.readFileSync(`${mnt}/web/d0/s/renamed`, 'utf8')).toBe('0/0\n');
    expect(server.fds().filter((f) => f.target.startsWith(dir)).length).toBeLessThanOrEqual(64 + 2);
  });

  it('presents inode numbers unique across sub-mounts (no loops for find), hard links sharing one', async () => {
    server = await Server.start(mnt);
    const dir = tree('root', {'a/x': 'x\n'});
    for (const sub of ['t1', 't2', 't1/inner']) {
      fs.mkdirSync(path.join(dir, sub), {recursive: true});
      execFileSync('mount', ['-t', 'tmpfs', 'none', path.join(dir, sub)]);
      mounted.push(path.join(dir, sub));
    }
    fs.mkdirSync(path.join(dir, 't1/inner/deeper'));
    fs.writeFileSync(path.join(dir, 't2/f'), 'f\n');
    fs.linkSync(path.join(dir, 't2/f'), path.join(dir, 't2/hard'));
    fs.linkSync(path.join(dir, 'a/x'), path.join(dir, 'a/y'));
    expect(await server.send('+', 'web', dir, 'w')).toBe('ok');
    const r = spawnSync('find', [`${mnt}/web`], {encoding: 'utf8'});
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ino = (p: string): bigint => fs.statSync(`${mnt}/web/${p}`, {bigint: true}).ino;
    const inos = ['t1', 't2', 't1/inner', 't1/inner/deeper', 't2/f', '.'].map(ino);
    expect(new Set(inos).size).toBe(inos.length);
    expect(ino('t2/f')).toBe(ino('t2/hard'));
    expect(ino('a/x')).toBe(ino('a/y'));
    expect(ino('a/x')).toBe(fs.statSync(path.join(dir, 'a/x'), {bigint: true}).ino); // the root's own file system: unchanged
  });

  it('never follows a link to reach a tree, and answers only what it was given', async () => {
    server = await Server.start(mnt);
    const dir = tree('a', {'f': 'A\n'});
    fs.symlinkSync('/etc', path.join(dir, 'etc-link'));
    expect(await server.send('+', 'web', dir, 'w')).toBe('ok');
    expect(fs.readlinkSync(`${mnt}/web/etc-link`)).toBe('etc');
    expect(() => fs.readFileSync(`${mnt}/web/etc-link/hostname`)).toThrow();
    expect(mountAt(mnt, mountTable())?.fstype).toBe('fuse.dbox');
  });

  it('stays whole under concurrent walks, renames racing them in the tree, few descriptors and revocations', async () => {
    server = await Server.start(mnt, {DBOX_FUSE_MAX_FDS: '16'});
    const files: Record<string, string> = {};
    for (let d = 0; d < 30; d++) for (let f = 0; f < 30; f++) files[`d${d}/s/f${f}`] = `${d}/${f}\n`;
    const a = tree('a', files);
    const b = tree('b', files);
    for (const t of [a, b]) for (let d = 0; d < 30; d++) fs.symlinkSync(`../../d${(d + 1) % 30}/s`, `${t}/d${d}/up`);
    expect(await server.send('+', 'web', a, 'w')).toBe('ok');
    const ms = Number(process.env['DBOX_STRESS_MS'] ?? 4000);
    const stopAt = Date.now() + ms;
    // Readers through the mount: walks, stats, reads, links (errors are expected: things move).
    const reader = (): Promise<void> => new Promise((resolve) => {
      const p = spawn('sh', ['-c', `while [ -e ${mnt}/web ] || true; do find ${mnt}/web -follow > /dev/null 2>&1; `
        + `cat ${mnt}/web/d*/s/f1 > /dev/null 2>&1; ls -lR ${mnt}/web/d1 > /dev/null 2>&1; `
        + `[ $(date +%s%3N) -gt ${stopAt} ] && break; done`], {stdio: 'ignore'});
      p.once('exit', () => resolve());
    });
    // In the tree itself (the container's processes): directories renamed and swapped for links.
    const racer = spawn('sh', ['-c', `cd ${a} && while [ $(date +%s%3N) -le ${stopAt} ]; do mv d3 d3x; ln -s d4 d3; rm d3; mv d3x d3; `
      + `mv d5/s d5/t; mv d5/t d5/s; done`], {stdio: 'ignore'});
    const racerDone = new Promise((r) => racer.once('exit', r));
    // Through the mount: files made and removed.
    const writer = spawn('sh', ['-c', `while [ $(date +%s%3N) -le ${stopAt} ]; do echo x > ${mnt}/web/d7/new 2>/dev/null; `
      + `mv ${mnt}/web/d7/new ${mnt}/web/d8/new 2>/dev/null; rm -f ${mnt}/web/d8/new; done`], {stdio: 'ignore'});
    const writerDone = new Promise((r) => writer.once('exit', r));
    const readers = Array.from({length: 6}, reader);
    // And the tree replaced under all of it, back and forth.
    let swaps = 0;
    while (Date.now() < stopAt) {
      await new Promise((r) => setTimeout(r, 300));
      expect(await server.send('+', 'web', swaps++ % 2 === 0 ? b : a, 'w')).toBe('ok');
    }
    await Promise.all([...readers, racerDone, writerDone]);
    expect(server.child.exitCode).toBe(null);
    expect(await server.send('+', 'web', a, 'w')).toBe('ok');
    expect(fs.readFileSync(`${mnt}/web/d2/s/f2`, 'utf8')).toBe('2/2\n');
    expect(server.fds().filter((f) => f.target.startsWith(b))).toEqual([]); // b was revoked, whichever came last
    await server.stop();
    expect(server.child.exitCode).toBe(0);
    expect(server.stderr.join('')).not.toMatch(/Sanitizer|runtime error|data race/);
  }, 120_000);
});
