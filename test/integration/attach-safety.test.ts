// attach against hostile containers and a hostile local user, on the real engine: nothing of the
// host but HOSTDIR is ever visible in a container, and only read-only; the program runs with the
// container's limits; the state on the host is a checked root-only directory whose files are
// data; a target swapped for a link mid-session leaves nothing mounted; a read-only root stays
// read-only throughout. Every case runs the real `dbox attach` (or the helper itself) and asserts
// what a container or the host shows afterwards.
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {attachHelper} from '../../src/self.js';
import {dboxPath, docker, makeFixture, removeUser, requireEngine, type Fixture} from './engine.js';
import {makeExt4, type Ext4} from './ext4.js';

const hasEngine = requireEngine();

const attach = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [dboxPath, 'attach', ...args], {encoding: 'utf8', env: {...process.env, ...env}, input: '', timeout: 120_000});

const attachInBackground = (args: string[], env: NodeJS.ProcessEnv = {}): {child: ChildProcess; done: Promise<{status: number; stderr: string}>} => {
  const child = spawn(process.execPath, [dboxPath, 'attach', ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']});
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{status: number; stderr: string}>((resolve) => child.on('exit', (code) => resolve({status: code ?? -1, stderr})));
  return {child, done};
};

/** Polls until `cond` holds; fails after `ms` (a deadline, not a pace). */
async function waitFor(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sh = (container: string, script: string): {status: number; stdout: string; stderr: string} => {
  const r = spawnSync('docker', ['exec', container, 'sh', '-c', script], {encoding: 'utf8'});
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr};
};
const exists = (container: string, p: string): boolean => sh(container, `test -e '${p}'`).status === 0;
const pidOf = (container: string): string => docker('inspect', '-f', '{{.State.Pid}}', container);
const idOf = (container: string): string => docker('inspect', '-f', '{{.Id}}', container);
const mountinfo = (container: string): string[] => fs.readFileSync(`/proc/${pidOf(container)}/mountinfo`, 'utf8').trim().split('\n');

/** Content, mode, owner and times of every entry below dir: what a write would change. */
function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    h.update(`${path.relative(dir, p)} ${st.mode} ${st.uid} ${st.gid} ${st.size} ${st.mtimeMs} ${st.ctimeMs}\n`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) walk(path.join(p, n));
    else if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
    else if (st.isFile()) h.update(fs.readFileSync(p));
  };
  walk(dir);
  return h.digest('hex');
}

const fileFacts = (p: string): string => {
  const st = fs.lstatSync(p);
  return `${st.mode} ${st.uid} ${st.gid} ${st.mtimeMs} ${st.isFile() ? fs.readFileSync(p, 'utf8') : ''}`;
};

describe.runIf(hasEngine)('attach: safety', () => {
  let fixture: Fixture;
  let ext4: Ext4;
  let dataHome: string;
  const env = (): NodeJS.ProcessEnv => ({XDG_DATA_HOME: dataHome});

  beforeAll(() => {
    fixture = makeFixture('attach-safety', {'data/keep': 'keep\n'});
    ext4 = makeExt4();
    dataHome = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-data-'));
  });
  afterAll(() => {
    fixture?.cleanup();
    ext4?.cleanup();
    if (dataHome) fs.rmSync(dataHome, {recursive: true, force: true});
  });

  it('blockdev: a container watching /dev and the target never reaches the rest of the host filesystem', async () => {
    const c = fixture.run('watcher');
    // The attacker: every directory that appears under /dev (and the target and its parent) is
    // entered; with the host's filesystem there it reads the canary, writes a file, and leaves a
    // process whose working directory keeps it for ever. Builtins only in the loop: fast.
    const attacker = `
      while [ ! -e /stop ]; do
        for m in /dev/.[!.]* /dev/.[!.]*/* /dev/* /.dbox /.dbox/..; do
          if cd "$m" 2>/dev/null; then
            if [ -e canary ]; then
              read -r line < canary && echo "$line" >> /found
              echo pwned > pwned
              sleep 100000 &
            fi
            cd /
          fi
        done
      done
      touch /stopped`;
    spawnSync('docker', ['exec', '-d', c, 'sh', '-c', attacker]);
    for (let i = 0; i < 30; i++) {
      const r = attach([c, ext4.tools, '--method', 'blockdev', '--', '/.dbox/bin/sh', '-c', 'true'], env());
      expect({i, status: r.status, stderr: r.stderr}).toEqual({i, status: 0, stderr: ''});
    }
    // What the container sees of the attach while it lasts: the one mount, of tools/ only.
    const seen = attach([c, ext4.tools, '--method', 'blockdev', '--', '/.dbox/bin/sh', '-c', 'cat /proc/self/mountinfo'], env());
    const ours = seen.stdout.split('\n').filter((l) => l.split(' ')[2] === ext4.device);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.split(' ').slice(3, 5)).toEqual(['/tools', '/.dbox']);
    expect(ours[0]!.split(' ')[5]!.split(',')).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));

    sh(c, 'touch /stop');
    await waitFor('the attacker to stop', () => exists(c, '/stopped'));
    expect(sh(c, 'cat /found 2>/dev/null').stdout).toBe('');
    expect(sh(c, 'cat /proc/[0-9]*/cwd/canary 2>/dev/null').stdout).not.toContain(ext4.token);
    expect(fs.existsSync(path.join(ext4.mnt, 'pwned'))).toBe(false);
    expect(fs.readFileSync(ext4.canary, 'utf8')).toBe(`${ext4.token}\n`);
    expect(sh(c, 'ls -a /dev').stdout).not.toMatch(/dbox/);
    expect(mountinfo(c).filter((l) => l.split(' ')[2] === ext4.device)).toEqual([]);
  });

  it('the toolbox is read-only, nosuid and nodev for the container and for the shell, and the host copy never changes', async () => {
    const c = fixture.run('rotool');
    expect(attach([c, '--', 'true'], env()).status).toBe(0); // builds the default toolbox
    const toolbox = path.join(dataHome, 'dbox/toolbox');
    const writes = [
      'touch /.dbox/new', 'echo trojan > /.dbox/bin/busybox', 'truncate -s 0 /.dbox/bin/busybox', 'chmod 777 /.dbox/bin',
      'chmod 4755 /.dbox/bin/busybox', 'mkdir /.dbox/d', 'ln -s x /.dbox/l', 'rm /.dbox/bin/sh', 'mv /.dbox/bin/sh /.dbox/bin/sh2',
      'touch -d 2000-01-01 /.dbox/bin/busybox', 'mknod /.dbox/null c 1 3',
      'busybox mount -o remount,rw /.dbox && echo trojan > /.dbox/bin/busybox',
      'busybox mount -o remount,rw,bind /.dbox && echo trojan > /.dbox/bin/busybox',
    ];
    const tryAll = `n=0; for w in ${writes.map((w) => `'${w}'`).join(' ')}; do if (eval "$w") 2>/dev/null; then echo "WROTE: $w"; fi; done; grep ' /.dbox ' /proc/self/mountinfo`;
    for (const [method, dir] of [['mount-api', toolbox], ['blockdev', ext4.tools]] as const) {
      const before = treeHash(dir);
      // The shell itself tries, then a process of the container tries while the shell runs.
      const {done} = attachInBackground([c, dir, '--method', method, '--', '/.dbox/bin/sh', '-c',
        `{ ${tryAll}; } > /from-shell; touch /attached; while [ ! -e /release ]; do /.dbox/bin/sleep 0.05; done`], env());
      await waitFor('the attach', () => exists(c, '/attached'));
      const fromContainer = sh(c, tryAll);
      const fromShell = sh(c, 'cat /from-shell').stdout;
      sh(c, 'touch /release');
      expect((await done).status).toBe(0);
      sh(c, 'rm -f /attached /release /from-shell');
      for (const out of [fromShell, fromContainer.stdout]) {
        expect(out, method).not.toContain('WROTE');
        const options = out.trim().split(' ')[5]!.split(',');
        expect(options, method).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
      }
      expect(treeHash(dir), method).toBe(before);
    }
  });

  it("the program has the container's capabilities and cgroups, not root's on the host: no host disk through mknod", () => {
    const c = fixture.run('confined');
    const pid1 = fs.readFileSync(`/proc/${pidOf(c)}/status`, 'utf8');
    const cap = (status: string, key: string): string => new RegExp(`^${key}:\\s*(\\S+)$`, 'm').exec(status)![1]!;
    const r = attach([c, ext4.tools, '--', '/.dbox/bin/sh', '-c',
      `cat /proc/self/status; echo CGROUP; cat /proc/self/cgroup; echo DISK; mknod /tmp/disk b ${ext4.device.replace(':', ' ')} && head -c 1 /tmp/disk > /dev/null && echo READ`], env());
    expect(r.stderr).toMatch(/head: \/tmp\/disk: Operation not permitted/);
    const [status, rest] = r.stdout.split('CGROUP\n');
    const [cgroups, disk] = rest!.split('DISK\n');
    for (const key of ['CapBnd', 'CapEff', 'CapPrm']) expect(cap(status!, key), key).toBe(cap(pid1, 'CapBnd'));
    expect(cap(status!, 'CapAmb')).toBe('0000000000000000');
    expect(cgroups).toBe(fs.readFileSync(`/proc/${pidOf(c)}/cgroup`, 'utf8'));
    expect(disk).toBe('');
    sh(c, 'rm -f /tmp/disk');
  });

  it('refuses a pid that is not the container\'s process (the helper proves it, whatever it is told)', () => {
    const a = fixture.run('ida');
    const b = fixture.run('idb');
    for (const pid of [pidOf(b), String(process.pid), '1', '2']) {
      const r = spawnSync(attachHelper, ['inject', '--pid', pid, '--id', idOf(a), '--source', ext4.tools, '--target', '/.dbox', '--', 'true'], {encoding: 'utf8'});
      expect(r.status, pid).toBe(125);
      expect(r.stderr, pid).toMatch(/^attach: process \d+ is not a process of container [0-9a-f]{12} here\n$/);
    }
    expect(mountinfo(a).some((l) => l.includes('/.dbox'))).toBe(false);
    expect(mountinfo(b).some((l) => l.includes('/.dbox'))).toBe(false);
  });

  it('a target swapped for a link to /etc mid-session: nothing is left mounted anywhere, and --cleanup tells the truth', async () => {
    for (const crash of [false, true]) {
      const c = fixture.run(crash ? 'swap-crash' : 'swap');
      const before = mountinfo(c).length;
      // The program waits for /release, finding its sleep where the toolbox is now.
      const {child, done} = attachInBackground([c, ext4.tools, '--at', '/a/b/tools', '--', '/a/b/tools/bin/sh', '-c',
        's=/a/b/tools/bin; while [ ! -e /release ]; do if [ -e $s/sleep ]; then $s/sleep 0.05; else s=/x/b/tools/bin; fi; done'], env());
      await waitFor('the mount', () => mountinfo(c).some((l) => l.split(' ')[4] === '/a/b/tools'));
      expect(sh(c, 'mv /a /x && ln -s /etc /a').status).toBe(0);
      expect(mountinfo(c).some((l) => l.split(' ')[4] === '/x/b/tools')).toBe(true); // the mount moved along
      if (crash) {
        const helper = Number(execFileSync('pgrep', ['-P', String(child.pid), '-f', 'dbox-attach'], {encoding: 'utf8'}).trim());
        process.kill(helper, 'SIGKILL');
        child.kill('SIGKILL');
        await done;
        sh(c, 'touch /release');
        expect(mountinfo(c).length).toBe(before + 1);
        const r = attach([c, ext4.tools, '--cleanup'], env());
        // The mount is proven by its id and the source's inode, and unmounted where it is now;
        // the created directories are no longer where they were made (a link is on the way).
        expect(r.stdout).toBe(`attach: removed what an earlier attach left in ${c}\n`);
        expect(r.stderr).toBe(`attach: left /a/b/tools in the container: its parent cannot be reached without following a link\nattach: could not remove everything an earlier attach left in ${c}\n`);
        expect(r.status).toBe(1);
      } else {
        sh(c, 'touch /release');
        const r = await done;
        expect(r.status).toBe(0);
        expect(r.stderr).toBe('attach: left /a/b/tools in the container: its parent cannot be reached without following a link\n');
      }
      expect(mountinfo(c).length).toBe(before);
      expect(mountinfo(c).filter((l) => l.split(' ')[2] === ext4.device)).toEqual([]);
      expect(sh(c, 'ls /etc/passwd && test ! -e /etc/b').status).toBe(0);
      expect(attach([c, ext4.tools, '--cleanup'], env()).stdout).toBe(`attach: nothing left in ${c}\n`);
    }
  });

  it('a read-only root stays read-only throughout, while a process of the container keeps trying to write', async () => {
    const c = fixture.run('rowatch', '--read-only', '--tmpfs', '/run');
    const diff = docker('diff', c); // the tmpfs's mount point
    spawnSync('docker', ['exec', '-d', c, 'sh', '-c',
      'i=0; while [ ! -e /run/stop ]; do i=$((i+1)); if echo -n 2>/dev/null > /probe-$i; then echo "/probe-$i" >> /run/wrote; fi; if mkdir /opt/w-$i 2>/dev/null; then echo "/opt/w-$i" >> /run/wrote; fi; done; touch /run/stopped']);
    for (let i = 0; i < 15; i++) {
      const r = attach([c, ext4.tools, '--at', '/opt/tools', '--', '/opt/tools/bin/sh', '-c', 'test -x /opt/tools/bin/busybox'], env());
      expect({i, status: r.status, stderr: r.stderr}).toEqual({i, status: 0, stderr: ''});
    }
    sh(c, 'touch /run/stop');
    await waitFor('the writer to stop', () => exists(c, '/run/stopped'));
    expect(sh(c, 'cat /run/wrote 2>/dev/null').stdout).toBe('');
    expect(docker('diff', c)).toBe(diff);
    expect(mountinfo(c).find((l) => l.split(' ')[4] === '/')!.split(' ')[5]!.split(',')).toContain('ro');
    expect(sh(c, 'touch /probe').status).not.toBe(0);
  });
});

describe.runIf(hasEngine)('attach: state against a hostile local user', () => {
  let fixture: Fixture;
  let user: string;
  let uid: number;
  let gid: number;
  let work: string;
  let dataHome: string;
  const env = (): NodeJS.ProcessEnv => ({XDG_DATA_HOME: dataHome});
  const asUser = (cmd: string, args: string[]) =>
    spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', cmd, ...args], {encoding: 'utf8'});
  const helper = (args: string[]) => spawnSync(attachHelper, args, {encoding: 'utf8', timeout: 10_000});

  beforeAll(() => {
    fixture = makeFixture('attach-state', {'data/keep': 'keep\n'});
    user = `dboxatk${process.pid % 100000}`;
    execFileSync('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', user]);
    uid = Number(execFileSync('id', ['-u', user], {encoding: 'utf8'}));
    gid = Number(execFileSync('id', ['-g', user], {encoding: 'utf8'}));
    // A root-only place for canaries and test state directories (never /tmp's own entries).
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-state-'));
    fs.chmodSync(work, 0o755);
    dataHome = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-data-'));
  });
  afterAll(() => {
    removeUser(user);
    fixture?.cleanup();
    if (work) fs.rmSync(work, {recursive: true, force: true});
    if (dataHome) fs.rmSync(dataHome, {recursive: true, force: true});
  });

  it("the old /tmp location, planted with links and forged state, is never used", () => {
    const victim = fixture.run('victim');
    const other = fixture.run('other');
    const canary = path.join(work, 'canary');
    fs.writeFileSync(canary, 'canary\n', {mode: 0o644});
    const canaryBefore = fileFacts(canary);
    // A world-writable sticky directory standing for /tmp (TMPDIR), where the user plants what
    // the old attach trusted: links named after container ids, and a forged upload state.
    const tmp = path.join(work, 'tmp');
    fs.mkdirSync(tmp);
    fs.chmodSync(tmp, 0o1777);
    const planted = path.join(tmp, 'dbox-attach-0');
    expect(asUser('mkdir', ['-m', '0777', planted]).status).toBe(0);
    expect(asUser('ln', ['-s', canary, path.join(planted, `${idOf(victim)}.state`)]).status).toBe(0);
    expect(asUser('sh', ['-c', `printf 'method=upload\\ntarget=/data\\n' > ${path.join(planted, `${idOf(other)}.state`)}`]).status).toBe(0);
    const plantedBefore = treeHash(planted);

    const run = attach([victim, '--', 'true'], {...env(), TMPDIR: tmp});
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const cleanup = attach([other, '--cleanup'], {...env(), TMPDIR: tmp});
    expect(cleanup.stdout).toBe(`attach: nothing left in ${other}\n`);
    expect(fileFacts(canary)).toBe(canaryBefore);
    expect(treeHash(planted)).toBe(plantedBefore);
    expect(sh(other, 'cat /data/keep').stdout).toBe('keep\n');
  });

  it('the state directory is root\'s alone: the user cannot create or plant anything there', () => {
    const c = fixture.run('planted');
    expect(attach([c, '--', 'true'], env()).status).toBe(0); // /run/dbox/attach exists from here on
    for (const dir of ['/run/dbox', '/run/dbox/attach']) {
      const st = fs.lstatSync(dir);
      expect({dir, dirIs: st.isDirectory(), uid: st.uid, mode: st.mode & 0o7777}).toEqual({dir, dirIs: true, uid: 0, mode: 0o700});
    }
    expect(asUser('mkdir', ['-p', '/run/dbox/attach/x']).status).not.toBe(0);
    expect(asUser('ln', ['-s', '/etc/passwd', `/run/dbox/attach/${idOf(c)}.state`]).status).not.toBe(0);
    expect(asUser('ln', ['-s', '/tmp', '/run/dbox-attach']).status).not.toBe(0);
  });

  it('a state directory anyone else could change is refused, and so are planted state files', () => {
    const id = 'a'.repeat(64);
    const canary = path.join(work, 'canary2');
    fs.writeFileSync(canary, 'canary\n', {mode: 0o644});
    const canaryBefore = fileFacts(canary);
    const mk = (p: string, mode: number, owner = 0): string => {
      const full = path.join(work, p);
      fs.mkdirSync(full);
      fs.chmodSync(full, mode);
      fs.chownSync(full, owner, owner === 0 ? 0 : gid);
      return full;
    };
    mk('users', 0o700, uid);
    const real = mk('real', 0o700);
    fs.symlinkSync(real, path.join(work, 'link'));
    mk('wide', 0o755);
    mk('ww', 0o777);
    mk('ww/attach', 0o700);
    mk('sticky', 0o1777);
    expect(asUser('mkdir', ['-m', '0700', path.join(work, 'sticky/attach')]).status).toBe(0);
    const cases: [string, RegExp][] = [
      [path.join(work, 'users/attach'), /^attach: state directory: users can be changed by another user \(uid \d+, mode 0700\): refusing to use it\n$/],
      [path.join(work, 'link'), /^attach: state directory: link in .* not a directory \(a link\?\)\n$/],
      [path.join(work, 'wide'), /^attach: state directory: wide must be owned by uid 0 with mode 0700 \(it is uid 0, mode 0755\): refusing to use it\n$/],
      [path.join(work, 'ww/attach'), /^attach: state directory: ww can be changed by another user \(uid 0, mode 0777\): refusing to use it\n$/],
      [path.join(work, 'sticky/attach'), /^attach: state directory: attach must be owned by uid 0 with mode 0700 \(it is uid \d+, mode 0700\): refusing to use it\n$/],
    ];
    for (const [dir, message] of cases) {
      for (const args of [['get'], ['put', '--method', 'upload', '--target', '/.dbox', '--token', 'b'.repeat(32)]]) {
        const r = helper(['state', ...args, '--id', id, '--state-dir', dir]);
        expect({dir, args, status: r.status, stderr: r.stderr}).toEqual({dir, args, status: 125, stderr: expect.stringMatching(message)});
      }
    }
    expect(fs.readdirSync(path.join(work, 'users'))).toEqual([]);
    expect(fs.readdirSync(real)).toEqual([]);

    // In a good directory: a planted link, a hard link, a file of someone else's, a FIFO.
    const good = mk('good', 0o700);
    const file = path.join(good, `${id}.state`);
    const put = ['state', 'put', '--id', id, '--method', 'upload', '--target', '/.dbox', '--token', 'b'.repeat(32), '--state-dir', good];
    expect(helper(['state', 'get', '--id', id, '--state-dir', good]).status).toBe(3); // none yet
    fs.symlinkSync(canary, file);
    expect(helper(['state', 'get', '--id', id, '--state-dir', good]).stderr).toBe('attach: state file: a symbolic link: refusing to use it\n');
    expect(helper(put).stderr).toMatch(/^attach: an earlier attach to this container is still running or was killed/);
    fs.rmSync(file);
    const elsewhere = path.join(work, 'elsewhere');
    fs.writeFileSync(elsewhere, `method=upload\ntarget=/data\ntoken=${'c'.repeat(32)}\n`, {mode: 0o600});
    fs.linkSync(elsewhere, file);
    expect(helper(['state', 'get', '--id', id, '--state-dir', good]).stderr).toBe('attach: state file: not a regular file of ours with one link: refusing to use it\n');
    fs.rmSync(file);
    fs.writeFileSync(file, `method=upload\ntarget=/data\ntoken=${'c'.repeat(32)}\n`, {mode: 0o600});
    fs.chownSync(file, uid, gid);
    expect(helper(['state', 'get', '--id', id, '--state-dir', good]).stderr).toBe('attach: state file: not a regular file of ours with one link: refusing to use it\n');
    fs.rmSync(file);
    execFileSync('mkfifo', [file]);
    const fifo = helper(['state', 'get', '--id', id, '--state-dir', good]);
    expect(fifo.error).toBeUndefined(); // answered at once, never blocked on the FIFO
    expect(fifo.stderr).toBe('attach: state file: not a regular file of ours with one link: refusing to use it\n');
    fs.rmSync(file);
    expect(helper(put).status).toBe(0);
    expect(fs.lstatSync(file).mode & 0o7777).toBe(0o600);
    expect(helper(['state', 'get', '--id', id, '--state-dir', good]).stdout).toBe(`method=upload\ntarget=/.dbox\ntoken=${'b'.repeat(32)}\n`);
    expect(fileFacts(canary)).toBe(canaryBefore);
  });

  it('forged state contents never make --cleanup remove or unmount what attach did not make', () => {
    const c = fixture.run('forged');
    const id = idOf(c);
    const file = `/run/dbox/attach/${id}.state`;
    fs.mkdirSync('/run/dbox/attach', {recursive: true, mode: 0o700});
    const pid = pidOf(c);
    const hostname = mountinfo(c).find((l) => l.split(' ')[4] === '/etc/hostname')!.split(' ');
    const hostnameIno = fs.statSync(`/proc/${pid}/root/etc/hostname`).ino;
    const dataIno = fs.statSync(`/proc/${pid}/root/data`).ino;
    const rootDev = mountinfo(c).find((l) => l.split(' ')[4] === '/')!.split(' ')[2]!;
    sh(c, `echo ${'d'.repeat(32)} > /data/.dbox-upload`); // a marker the container planted
    const before = mountinfo(c);
    const forged: [string, string][] = [
      ['the root as target', 'method=mount-api\ntarget=/\ncreated=/\ndev=0:1\nino=2\n'],
      ['a relative escape', 'method=mount-api\ntarget=/data/../etc\ncreated=/data\ndev=0:1\nino=2\n'],
      ['a command', 'method=upload\ntarget=/data\ncommand=rm -rf /data\n'],
      ['a non-empty directory as created', `method=mount-api\ntarget=/data\ncreated=/data\ndev=${rootDev}\nino=${dataIno}\n`],
      ['another mount by id', `method=mount-api\ntarget=/etc/hostname\ncreated=\ndev=${hostname[2]}\nino=${hostnameIno}\nmount_id=${hostname[0]}\n`],
      ['an upload of /data', `method=upload\ntarget=/data\ntoken=${'e'.repeat(32)}\n`],
      ['an upload of a directory with a marker the container planted', `method=upload\ntarget=/data\ntoken=${'f'.repeat(32)}\n`],
    ];
    for (const [why, text] of forged) {
      fs.writeFileSync(file, text, {mode: 0o600});
      const r = attach([c, '--cleanup'], env());
      expect({why, removed: r.stdout.includes('removed')}).toEqual({why, removed: false});
      expect(sh(c, 'cat /data/keep').stdout, why).toBe('keep\n');
      expect(mountinfo(c), why).toEqual(before);
      expect(fs.existsSync(file), why).toBe(false);
    }
  });
});
