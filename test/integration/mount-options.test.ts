// `dbox mount DIR -o OPTIONS` (issue 13, item 4) on real mounts, on both servers: dbox-fuse (the
// fast path) and fuse-native alone (DBOX_FUSE=node).
//   - ro: reads work, every write fails with EROFS, and the kernel's table says ro (MS_RDONLY).
//   - allow_other: another uid (65534, through setpriv) lists the mount; without it, it cannot.
//   - default_permissions comes with allow_other: that uid cannot read a root file of mode 0600
//     in a container, nor write into a root directory (the server, root, would have let it).
//   - what that uid creates through dbox-fuse is its own (uid/gid 65534), set-ID bits included,
//     never a root-owned file; so through fuse-native (a stopped container on both servers, a
//     running one with DBOX_FUSE=node), a rename of it in a stopped container included.
//   - an unknown option is a usage error (status 2) and nothing is mounted, nor any directory made;
//     allow_other asked by a user other than root, without user_allow_other in fuse.conf, is refused
//     with a message that says so (in a private mount namespace with its own fuse.conf, so that the
//     machine's file is never changed).
import {spawnSync, type SpawnSyncReturns} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {mountTable} from '../../src/fuse/mounts.js';

const hasEngine = requireEngine();
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/** Runs argv as uid/gid 65534. */
const asNobody = (...argv: string[]): SpawnSyncReturns<string> =>
  spawnSync('setpriv', [...NOBODY, ...argv], {encoding: 'utf8', cwd: '/'});

/** The options of the mount at `dir` as /proc/mounts lists them. */
const optionsOf = (dir: string): string[] => {
  const line = fs.readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === dir);
  return line ? line.split(' ')[3]!.split(',') : [];
};

describe.runIf(hasEngine)('dbox mount -o OPTIONS', () => {
  let fixture: Fixture;
  let c: string;
  const dirs: string[] = [];

  beforeAll(() => {
    fixture = makeFixture('mopts', {'data/hello.txt': 'hello\n', 'data/secret': 'SECRET\n'});
    c = fixture.run('mopts');
    docker('exec', c, 'chmod', '600', '/data/secret');
    docker('exec', c, 'chmod', '755', '/data');
  }, 60_000);

  afterAll(() => {
    for (const d of dirs) {
      spawnSync(process.execPath, [dboxPath, 'umount', d]);
      fs.rmSync(d, {recursive: true, force: true});
    }
    fixture?.cleanup();
  });

  const mount = (options: string[], env: NodeJS.ProcessEnv = {}): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-mopts-'));
    fs.chmodSync(dir, 0o755);
    dirs.push(dir);
    const r = spawnSync(process.execPath, [dboxPath, 'mount', dir, ...options], {encoding: 'utf8', env: {...process.env, ...env}});
    if (r.stdout !== `${dir}\n`) throw new Error(`dbox mount: ${r.status} ${r.stderr}`);
    return dir;
  };
  const unmount = (dir: string): void => {
    expect(spawnSync(process.execPath, [dboxPath, 'umount', dir]).status).toBe(0);
  };

  for (const [server, env] of [['dbox-fuse', {}], ['fuse-native', {DBOX_FUSE: 'node'}]] as const) {
    describe(server, () => {
      it('-o ro: reads work, writes fail with EROFS, /proc/mounts says ro', () => {
        const dir = mount(['-o', 'ro'], env);
        expect(optionsOf(dir)).toContain('ro');
        expect(fs.readFileSync(path.join(dir, c, 'data/hello.txt'), 'utf8')).toBe('hello\n');
        const t = spawnSync('touch', [path.join(dir, c, 'tmp/x')], {encoding: 'utf8'});
        expect(t.status).not.toBe(0);
        expect(t.stderr).toContain('Read-only file system');
        expect(() => fs.unlinkSync(path.join(dir, c, 'data/hello.txt'))).toThrow(/EROFS/);
        expect(docker('exec', c, 'ls', '/tmp')).toBe('');
        expect(docker('exec', c, 'cat', '/data/hello.txt')).toBe('hello');
        unmount(dir);
      }, 60_000);

      it('-o allow_other: another uid lists it, under default_permissions', () => {
        const dir = mount(['-o', 'allow_other'], env);
        expect(optionsOf(dir)).toEqual(expect.arrayContaining(['allow_other', 'default_permissions', 'rw']));
        const ls = asNobody('ls', dir);
        expect(ls.status).toBe(0);
        expect(ls.stdout.split('\n')).toContain(c);
        expect(asNobody('cat', path.join(dir, c, 'data/hello.txt')).stdout).toBe('hello\n');
        const secret = asNobody('cat', path.join(dir, c, 'data/secret'));
        expect(secret.status).not.toBe(0);
        expect(secret.stderr).toContain('Permission denied');
        const write = asNobody('touch', path.join(dir, c, 'data/planted'));
        expect(write.stderr).toContain('Permission denied');
        expect(docker('exec', c, 'ls', '/data')).not.toContain('planted');
        // root (the mounter) still reads everything
        expect(fs.readFileSync(path.join(dir, c, 'data/secret'), 'utf8')).toBe('SECRET\n');
        unmount(dir);
      }, 60_000);

      it('without allow_other another uid cannot reach it', () => {
        const dir = mount([], env);
        const ls = asNobody('ls', dir);
        expect(ls.status).not.toBe(0);
        expect(ls.stderr).toContain('Permission denied');
        unmount(dir);
      }, 60_000);
    });
  }

  it('with allow_other, what another uid creates through dbox-fuse is its own', () => {
    const dir = mount(['-o', 'allow_other']);
    const tmp = path.join(dir, c, 'tmp');
    const made = asNobody('sh', '-c', `umask 022 && touch ${tmp}/file && mkdir ${tmp}/dir && ln -s file ${tmp}/link && mkfifo ${tmp}/fifo`
      + ` && ${process.execPath} -e "require('fs').closeSync(require('fs').openSync('${tmp}/suid', 'wx', 0o6755))"`);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    const owners = docker('exec', c, 'stat', '-c', '%n %u:%g %a', '/tmp/file', '/tmp/dir', '/tmp/link', '/tmp/fifo', '/tmp/suid').split('\n');
    expect(owners.slice(0, 4)).toEqual(['/tmp/file 65534:65534 644', '/tmp/dir 65534:65534 755', '/tmp/link 65534:65534 777', '/tmp/fifo 65534:65534 644']);
    // The set-ID bits asked for are kept, on a file of the caller: never a set-ID file of root.
    expect(owners[4]).toMatch(/^\/tmp\/suid 65534:65534 [67]755$/);
    // root's own creations stay root's
    fs.writeFileSync(path.join(tmp, 'rootfile'), 'x');
    expect(docker('exec', c, 'stat', '-c', '%u:%g', '/tmp/rootfile')).toBe('0:0');
    docker('exec', c, 'sh', '-c', 'rm -rf /tmp/*');
    unmount(dir);
  }, 60_000);

  // fuse-native serves what dbox-fuse passes on (stopped and remote containers), and the whole
  // mount with DBOX_FUSE=node or for a user other than root: the caller comes from libfuse's
  // request context (src/fuse/caller.ts). A stopped container's file is uploaded on close, then
  // put in place by a hard-link entry: the owner must survive both.
  for (const [server, env] of [['dbox-fuse', {}], ['fuse-native', {DBOX_FUSE: 'node'}]] as const) {
    it(`with allow_other, what another uid creates through ${server} in a stopped container${server === 'fuse-native' ? ' and a running one' : ''} is its own`, () => {
      const stopped = fixture.create(`mopts-stopped-${server}`);
      const dir = mount(['-o', 'allow_other'], env);
      try {
        const targets = server === 'fuse-native' ? [stopped, c] : [stopped];
        for (const name of targets) {
          const tmp = path.join(dir, name, 'tmp');
          const made = asNobody('sh', '-c', `umask 022 && echo one > ${tmp}/file && mkdir ${tmp}/dir && ln -s file ${tmp}/link`
            + ` && ${process.execPath} -e "require('fs').closeSync(require('fs').openSync('${tmp}/suid', 'wx', 0o6755))"`);
          expect(made.stderr).toBe('');
          expect(made.status).toBe(0);
          // Renamed by root (the engine's stat of a stopped container knows no owner, so the kernel
          // would not let that uid rename in a sticky /tmp): the file stays that uid's.
          fs.renameSync(`${tmp}/file`, `${tmp}/moved`);
        }
        // The stopped container as the engine has it (its archive's headers: what a start will see).
        const listing = spawnSync('sh', ['-c', `docker cp ${stopped}:/tmp - | tar -tvn --numeric-owner`], {encoding: 'utf8'}).stdout;
        const owner = (name: string): string | undefined => listing.split('\n').find((l) => l.endsWith(` tmp/${name}`) || l.includes(` tmp/${name} ->`) || l.endsWith(` tmp/${name}/`))?.split(/\s+/)[1];
        expect(['moved', 'dir', 'link', 'suid'].map(owner)).toEqual(['65534/65534', '65534/65534', '65534/65534', '65534/65534']);
        // Set-ID bits asked for come with the caller's ownership (one header), never on a file of root.
        expect(listing).toMatch(/^-rw[sS]r-[sS]r-x 65534\/65534 .* tmp\/suid$/m);
        expect(listing).not.toMatch(/ tmp\/file$/m);
        if (server === 'fuse-native') {
          expect(docker('exec', c, 'stat', '-c', '%n %u:%g %a', '/tmp/moved', '/tmp/dir', '/tmp/link').split('\n'))
            .toEqual(['/tmp/moved 65534:65534 644', '/tmp/dir 65534:65534 755', '/tmp/link 65534:65534 777']);
          expect(docker('exec', c, 'stat', '-c', '%u:%g %a', '/tmp/suid')).toMatch(/^65534:65534 [67]755$/);
          // root's own creations stay root's
          fs.writeFileSync(path.join(dir, c, 'tmp/rootfile'), 'x');
          expect(docker('exec', c, 'stat', '-c', '%u:%g', '/tmp/rootfile')).toBe('0:0');
          docker('exec', c, 'sh', '-c', 'rm -rf /tmp/*');
        }
      } finally {
        unmount(dir);
        docker('rm', '-f', stopped);
      }
    }, 90_000);
  }

  it('an unknown option is a usage error and nothing is mounted', () => {
    const fresh = path.join(os.tmpdir(), `dbox-mopts-none-${process.pid}`);
    const r = spawnSync(process.execPath, [dboxPath, 'mount', fresh, '-o', 'ro,allow_root'], {encoding: 'utf8'});
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^dbox: mount: unknown mount option 'allow_root'\n/);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(fresh)).toBe(false);
    const missing = spawnSync(process.execPath, [dboxPath, 'mount', fresh, '-o'], {encoding: 'utf8'});
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^dbox: mount: option requires an argument -- 'o'\n/);
    expect(fs.existsSync(fresh)).toBe(false);
    expect(mountTable().some((m) => m.mountPoint === fresh)).toBe(false);
  });

  it('allow_other by a user other than root needs user_allow_other in fuse.conf, and says so', () => {
    const conf = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-mopts-conf-'));
    fs.chmodSync(conf, 0o755);
    const target = path.join(conf, 'mnt');
    try {
      fs.writeFileSync(path.join(conf, 'fuse.conf'), '# user_allow_other\nmount_max = 1000\n');
      fs.chmodSync(path.join(conf, 'fuse.conf'), 0o644);
      // A private mount namespace whose /etc/fuse.conf is ours; the machine's is never touched.
      const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
        `mount --bind "$1/fuse.conf" /etc/fuse.conf && exec setpriv ${NOBODY.join(' ')} "$2" "$3" mount "$4" -o allow_other`,
        'sh', conf, process.execPath, dboxPath, target], {encoding: 'utf8', cwd: '/'});
      expect(r.stderr).toBe("dbox: mount: allow_other needs 'user_allow_other' in /etc/fuse.conf for users other than root (ask the administrator to add it)\n");
      expect(r.status).toBe(1);
      expect(fs.existsSync(target)).toBe(false);
    } finally {
      fs.rmSync(conf, {recursive: true, force: true});
    }
  });
});
