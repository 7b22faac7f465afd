// A non-root user in the docker group (made here, removed after) runs dbox's builtins on a local
// container: served by the dbox agent (nothing run in, nothing uploaded to, the target container:
// the engine's events for it stay empty), with root-level access to the container's files, as
// the docker group already gives.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, removeUser, requireEngine, type Fixture} from './engine.js';
import {actionsDuring} from './wait.js';
import {startRemoteEngine, type RemoteEngine} from '../../harness/remote-engine.js';

const hasEngine = requireEngine();
const user = `dboxnr${process.pid % 100000}`;
const home = `/home/${user}`;

/** `dbox -c LINE` as the user, with the groups of its login (runuser), in its home. */
function asUser(line: string): {status: number; stdout: string; stderr: string} {
  const r = spawnSync('runuser', ['-u', user, '--', 'env', `HOME=${home}`, 'NO_COLOR=1', process.execPath, dboxPath, '-c', line],
    {cwd: home, encoding: 'utf8', timeout: 120_000});
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr};
}

describe.runIf(hasEngine)('a non-root user in the docker group, through the agent', () => {
  let fixture: Fixture;
  let c: string;

  beforeAll(() => {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', user]);
    execFileSync('usermod', ['-aG', 'docker', user]);
    fixture = makeFixture('nonroot', {'data/hello.txt': 'hello\n', 'data/tree/a/one.txt': 'one\n', 'data/tree/b/two.txt': 'two\n',
      'data/tree/link': {symlink: 'a/one.txt'}});
    c = fixture.run('c');
    docker('exec', c, 'sh', '-c', 'echo secret > /data/secret && chmod 600 /data/secret && chmod 700 /data/tree/b');
    fs.mkdirSync(`${home}/up/sub`, {recursive: true});
    fs.writeFileSync(`${home}/up/sub/file.txt`, 'from the host\n');
    execFileSync('chown', ['-R', `${user}:${user}`, `${home}/up`]);
  });
  afterAll(() => {
    fixture?.cleanup();
    removeUser(user);
  });

  it('ls -l and cat, with nothing run in the target container', async () => {
    let ls!: ReturnType<typeof asUser>;
    let cat!: ReturnType<typeof asUser>;
    const events = await actionsDuring(c, () => {
      ls = asUser(`ls -l /containers/${c}/data`);
      cat = asUser(`cat /containers/${c}/data/hello.txt /containers/${c}/data/secret`);
    });
    expect(ls).toMatchObject({status: 0, stderr: ''});
    expect(ls.stdout).toMatch(/^-rw------- +1 root +root +7 .* secret$/m);
    expect(ls.stdout).toMatch(/^drwxr-xr-x .* tree$/m);
    expect(cat).toMatchObject({status: 0, stdout: 'hello\nsecret\n', stderr: ''});
    expect(events).toEqual([]);
  });

  it('cp -r from the container to the host and back', () => {
    const out = asUser(`cp -r /containers/${c}/data/tree ${home}/down`);
    expect(out).toMatchObject({status: 0, stderr: ''});
    expect(fs.readFileSync(`${home}/down/a/one.txt`, 'utf8')).toBe('one\n');
    expect(fs.readFileSync(`${home}/down/b/two.txt`, 'utf8')).toBe('two\n');
    expect(fs.readlinkSync(`${home}/down/link`)).toBe('a/one.txt');
    // Written by the user: its files are the user's.
    expect(fs.statSync(`${home}/down/a/one.txt`).uid).toBe(Number(execFileSync('id', ['-u', user], {encoding: 'utf8'})));
    const up = asUser(`cp -r ${home}/up /containers/${c}/tmp/`);
    expect(up).toMatchObject({status: 0, stderr: ''});
    expect(docker('exec', c, 'cat', '/tmp/up/sub/file.txt')).toBe('from the host');
    expect(docker('exec', c, 'ls', '-a', '/tmp/up/sub')).not.toMatch(/dbox/);
  });

  it('cp -a of files the user may not give away: copied, owned by the user, as GNU cp does (host and container sources)', () => {
    // (One builtin call per line: a line of several needs the mount, which this machine's /dev/fuse may refuse the user.)
    for (const line of [`cp -a /etc/hostname ${home}/h`, `cp -a /containers/${c}/data/hello.txt ${home}/hello`, `cp -a /containers/${c}/data/tree ${home}/t`]) {
      expect(asUser(line)).toMatchObject({status: 0, stderr: ''});
    }
    const uid = Number(execFileSync('id', ['-u', user], {encoding: 'utf8'}));
    for (const f of ['h', 'hello', 't/a/one.txt']) expect(fs.statSync(`${home}/${f}`).uid).toBe(uid);
    expect(fs.readFileSync(`${home}/hello`, 'utf8')).toBe('hello\n');
    // GNU's own, for the record: the same status.
    expect(spawnSync('runuser', ['-u', user, '--', 'cp', '-a', '/etc/hostname', `${home}/h-gnu`]).status).toBe(0);
  });

  it('overwrites a file it may write in a directory it may not: in place, as GNU cp; an unreadable source leaves the file whole', () => {
    const locked = `${home}/locked`;
    fs.mkdirSync(locked, {mode: 0o755}); // root's: the user may not add a name to it
    fs.writeFileSync(`${locked}/f`, 'old contents, longer than the new\n');
    fs.writeFileSync(`${locked}/g`, 'old\n');
    execFileSync('chown', [`${user}:${user}`, `${locked}/f`, `${locked}/g`]);
    const ino = fs.statSync(`${locked}/f`).ino;
    expect(asUser(`cp /containers/${c}/data/hello.txt ${locked}/f`)).toMatchObject({status: 0, stderr: ''});
    expect(fs.readFileSync(`${locked}/f`, 'utf8')).toBe('hello\n');
    expect(fs.statSync(`${locked}/f`).ino).toBe(ino);
    expect(asUser(`cp ${home}/up/sub/file.txt ${locked}/g`)).toMatchObject({status: 0, stderr: ''});
    expect(fs.readFileSync(`${locked}/g`, 'utf8')).toBe('from the host\n');
    // GNU's own: the same.
    expect(spawnSync('runuser', ['-u', user, '--', 'cp', `${home}/up/sub/file.txt`, `${locked}/f`]).status).toBe(0);
    // A source it may not read: refused before the file is touched (GNU: the same status, the file whole).
    expect(asUser(`cp /etc/shadow ${locked}/g`)).toMatchObject({status: 1, stderr: expect.stringMatching(/^cp: .*\/etc\/shadow.*Permission denied\n$/)});
    expect(fs.readFileSync(`${locked}/g`, 'utf8')).toBe('from the host\n');
    expect(fs.readdirSync(locked).sort()).toEqual(['f', 'g']);
  });

  it('cp -r of a tree with a directory it may not list: made empty with its mode, the rest copied, status 1 (as GNU cp)', () => {
    const src = `${home}/unlistable`;
    fs.mkdirSync(`${src}/closed`, {recursive: true});
    fs.mkdirSync(`${src}/open`);
    fs.writeFileSync(`${src}/open/f`, 'f\n');
    fs.writeFileSync(`${src}/closed/g`, 'g\n');
    execFileSync('chown', ['-R', `${user}:${user}`, src]);
    fs.chmodSync(`${src}/closed`, 0);
    const dbox = asUser(`cp -r ${src} ${home}/u-dbox`);
    const gnu = spawnSync('runuser', ['-u', user, '--', 'cp', '-r', src, `${home}/u-gnu`], {encoding: 'utf8'});
    expect(gnu.status).toBe(1);
    expect(dbox.status).toBe(1);
    expect(dbox.stderr).toMatch(/closed.*Permission denied\n$/);
    for (const out of ['u-dbox', 'u-gnu']) {
      expect(fs.readdirSync(`${home}/${out}`).sort()).toEqual(['closed', 'open']);
      expect(fs.statSync(`${home}/${out}/closed`).mode & 0o7777).toBe(0);
      expect(fs.readFileSync(`${home}/${out}/open/f`, 'utf8')).toBe('f\n');
    }
  });

  it('a home it cannot write the mount log in: said once, and the line runs', () => {
    const r = spawnSync('runuser', ['-u', user, '--', 'env', 'HOME=/nonexistent/home', 'NO_COLOR=1', process.execPath, dboxPath, '-c',
      `cat /containers/${c}/data/hello.txt; /bin/true`], {cwd: home, encoding: 'utf8', timeout: 120_000});
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toMatch(/^dbox: cannot write the mount's log: \/nonexistent\/home\/\.local\/state\/dbox\/mount\.log: (Permission denied|No such file or directory); set XDG_STATE_HOME to keep it$/m);
    expect(r.stderr).not.toMatch(/internal error|; log: \/nonexistent/);
  }, 120_000);

  it('errors as coreutils words them', () => {
    const r = asUser(`cat /containers/${c}/data/nope`);
    expect(r).toMatchObject({status: 1, stdout: ''});
    expect(r.stderr).toBe(`cat: /containers/${c}/data/nope: No such file or directory\n`);
  });
});


describe.runIf(hasEngine)("a non-root user's door and fd channel, on a local engine of the test's own", () => {
  let remote: RemoteEngine;
  const env = (): string[] => [`DOCKER_HOST=unix://${remote.socket}`, 'DOCKER_CONTEXT=', 'DBOX_AGENT_IDLE=3'];
  const c = `door-${process.pid}`;
  const user = `dboxdr${process.pid % 100000}`; // a user of its own: its door directory holds this engine's door only
  const home = `/home/${user}`;
  let uid: number;

  /** `dbox -c LINE` as the user, on that engine. */
  const run = (line: string, stdout: 'pipe' | number = 'pipe'): {status: number; stdout: string; stderr: string} => {
    const r = spawnSync('runuser', ['-u', user, '--', 'env', `HOME=${home}`, 'NO_COLOR=1', ...env(), process.execPath, dboxPath, '-c', line],
      {cwd: home, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', stdout, 'pipe']});
    return {status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr};
  };

  beforeAll(async () => {
    spawnSync('useradd', ['-m', '-s', '/bin/sh', user], {stdio: 'ignore'});
    execFileSync('usermod', ['-aG', 'docker', user]);
    uid = Number(execFileSync('id', ['-u', user], {encoding: 'utf8'}));
    remote = await startRemoteEngine();
    fs.chmodSync(remote.dir, 0o711); // the user reaches its socket (root:docker 0660) as with /var/run
    execFileSync('sh', ['-c', `docker save dbox-test/busybox | docker -H unix://${remote.socket} load -q`], {stdio: 'ignore'});
    remote.docker('run', '-d', '--network', 'none', '--name', c, 'dbox-test/busybox', 'sleep', '2147483647');
    remote.docker('exec', c, 'sh', '-c', 'head -c 67108864 /dev/urandom > /big && chmod 600 /big');
  }, 180_000);
  afterAll(() => {
    remote?.stop();
    removeUser(user);
  });

  it('the first command comes in by an exec, later ones by the door; big files are handed over; nothing is left after the idle time', async () => {
    const agentExecs = async (work: () => void): Promise<number> => {
      const since = (Date.now() / 1000).toFixed(3);
      work();
      const until = (Date.now() / 1000 + 1).toFixed(3);
      return remote.docker('events', '--since', since, '--until', until, '--filter', 'label=dbox.agent', '--filter', 'event=exec_start',
        '--format', '{{.Action}}').split('\n').filter(Boolean).length;
    };
    const dir = `/tmp/dbox-agent-${uid}`;
    // (uids are reused by the users tests make: another agent's door for this uid may be there already)
    const before = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    expect(await agentExecs(() => expect(run(`ls /containers/${c}/etc`)).toMatchObject({status: 0, stderr: ''}))).toBe(1);
    const added = fs.readdirSync(dir).filter((n) => !before.includes(n));
    expect(added).toEqual([expect.stringMatching(/^agent-[0-9a-f]{24}\.sock$/)]);
    const door = path.join(dir, added[0]!);
    expect(fs.statSync(door)).toMatchObject({uid});
    expect(fs.statSync(door).mode & 0o777).toBe(0o600);
    const out = path.join(home, 'big.out');
    const fd = fs.openSync(out, 'w');
    try {
      expect(await agentExecs(() => {
        expect(run(`ls -l /containers/${c}/big`).stdout).toMatch(/^-rw------- +1 root +root +67108864 /);
        expect(run(`cat /containers/${c}/big`, fd)).toMatchObject({status: 0, stderr: ''});
      })).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    const sum = (s: string): string => s.split(' ')[0]!;
    expect(sum(execFileSync('sha256sum', [out], {encoding: 'utf8'}))).toBe(sum(remote.docker('exec', c, 'sha256sum', '/big')));
    expect(fs.readdirSync('/tmp').filter((n) => n.startsWith('dbox-fd-'))).toEqual([]);
    // Once dbox has exited and the idle time has passed: no agent, no door, no directory of it.
    const deadline = Date.now() + 60_000;
    const left = (): boolean => remote.docker('ps', '-aq', '--filter', 'label=dbox.agent') !== '' || fs.existsSync(door) ||
      (before.length === 0 && fs.existsSync(dir));
    while (left()) {
      if (Date.now() > deadline) throw new Error(`left behind: ${remote.docker('ps', '-a')} ${fs.existsSync(dir) ? fs.readdirSync(dir) : ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(remote.docker('images', '-aq', '--filter', 'label=dbox.agent')).toBe('');
  }, 180_000);
});

// The mount for a user of the docker group (issue 13, item 4): fusermount3 mounts it, fuse-native
// serves it through the agent; external commands in a session, `dbox mount DIR` with the host's
// tools, every way out (dbox umount, Ctrl-C, kill -9) leaving nothing, a clear error where FUSE is
// not open to the user, and no agent once the idle time has passed. On an engine of the test's
// own, so that "no agent" is this test's to see. Most systems let every user open /dev/fuse
// (0666), this one does not: each script runs in a private mount namespace of the test where a
// node of the FUSE device with the mode under test is bound on /dev/fuse (nothing of the machine
// changes, and every mount goes with the namespace, whatever happens).
describe.runIf(hasEngine)('the mount for a non-root user, served by the agent', () => {
  let remote: RemoteEngine;
  const c = `nrmount-${process.pid}`;
  const user = `dboxnm${process.pid % 100000}`;
  const home = `/home/${user}`;
  let uid: number;
  const env = (): string[] => [`DOCKER_HOST=unix://${remote.socket}`, 'DOCKER_CONTEXT=', 'DBOX_AGENT_IDLE=3'];
  const dbox = `${process.execPath} ${dboxPath}`;

  /** `script` (sh) as the user, in a private mount namespace where /dev/fuse has mode `mode`. */
  const inNamespace = (script: string, mode = '666'): {status: number; stdout: string; stderr: string} => {
    const dev = fs.mkdtempSync('/tmp/dbox-fusedev-');
    try {
      const r = spawnSync('unshare', ['-m', 'sh', '-c', [
        `mount -t tmpfs none ${dev}`, `mknod ${dev}/fuse c 10 229`, `chmod ${mode} ${dev}/fuse`, `mount --bind ${dev}/fuse /dev/fuse`,
        `umount -l ${dev}`,
        `exec runuser -u ${user} -- env HOME=${home} NO_COLOR=1 ${env().join(' ')} sh -c "$0"`,
      ].join(' && '), script], {cwd: home, encoding: 'utf8', timeout: 120_000});
      return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr};
    } finally {
      fs.rmSync(dev, {recursive: true, force: true});
    }
  };
  /** The lines `KEY=VALUE` of a script's output, as a record. */
  const said = (out: string): Record<string, string> =>
    Object.fromEntries(out.split('\n').filter((l) => /^[a-z-]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  /** What the script prints at its end: the mounts of this namespace under the user's dirs, dbox processes of the user, runtime dirs. */
  // (a mount process leaves within a second of its unmount: waited for, up to 10 s)
  const leftovers = `echo "mounts=$(awk -v h=${home} -v r=/tmp/dbox-$(id -u) 'index($5, h) == 1 || index($5, r) == 1' /proc/self/mountinfo | wc -l)"; ` +
    `procs() { ps -u $(id -u) -o stat=,comm= | awk '$1 !~ /^Z/ && ($2 == "node" || $2 == "dbox-fuse")' | wc -l; }; ` +
    `i=0; while [ $(procs) != 0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; ` +
    `echo "procs=$(procs)"; echo "runtime=$(ls /tmp/dbox-$(id -u) 2>/dev/null | grep -c '^[0-9]')"`;
  /** Doors in the user's door directory before this block ran (uids are reused by the users tests make). */
  let doorsBefore: string[] = [];
  const doors = (): string[] => (fs.existsSync(`/tmp/dbox-agent-${uid}`) ? fs.readdirSync(`/tmp/dbox-agent-${uid}`) : []);

  beforeAll(async () => {
    spawnSync('useradd', ['-m', '-s', '/bin/sh', user], {stdio: 'ignore'});
    execFileSync('usermod', ['-aG', 'docker', user]);
    uid = Number(execFileSync('id', ['-u', user], {encoding: 'utf8'}));
    doorsBefore = doors();
    remote = await startRemoteEngine();
    fs.chmodSync(remote.dir, 0o711);
    execFileSync('sh', ['-c', `docker save dbox-test/busybox | docker -H unix://${remote.socket} load -q`], {stdio: 'ignore'});
    remote.docker('run', '-d', '--network', 'none', '--name', c, 'dbox-test/busybox', 'sleep', '2147483647');
    remote.docker('exec', c, 'sh', '-c', 'mkdir -p /data && echo hello > /data/hello.txt && chmod 644 /data/hello.txt && echo secret > /data/secret && chmod 600 /data/secret');
  }, 180_000);
  afterAll(() => {
    remote?.stop();
    removeUser(user);
  });

  it('external commands in a session: grep, sed -i (content changed, mode and owner kept), a new file; nothing run in the target container; nothing left', () => {
    const since = (Date.now() / 1000).toFixed(3);
    const r = inNamespace(`${dbox} -c 'grep -n root /containers/${c}/etc/passwd; cat /containers/${c}/data/secret; ` +
      `sed -i s/hello/HELLO/ /containers/${c}/data/hello.txt && echo sed=ok; echo new > /containers/${c}/tmp/new.txt'; echo "status=$?"; ${leftovers}`);
    const until = (Date.now() / 1000 + 1).toFixed(3);
    // The agent read and wrote through the container's root from its own container: the target ran nothing.
    expect(remote.docker('events', '--since', since, '--until', until, '--filter', `container=${c}`, '--format', '{{.Action}}')).toBe('');
    expect(r.stdout).toContain('1:root:x:0:0:root:/root:/bin/sh\nsecret\nsed=ok\n');
    expect(said(r.stdout)).toEqual({sed: 'ok', status: '0', mounts: '0', procs: '0', runtime: '0'});
    expect(r.stderr).not.toMatch(/cannot reach|mount did not start/);
    expect(remote.docker('exec', c, 'stat', '-c', '%a %u:%g', '/data/hello.txt', '/tmp/new.txt').split('\n')).toEqual(['644 0:0', '644 0:0']);
    expect(remote.docker('exec', c, 'cat', '/data/hello.txt', '/tmp/new.txt')).toBe('HELLO\nnew');
  }, 120_000);

  it('dbox mount DIR with the host tools; dbox umount, Ctrl-C and kill -9 each leave nothing (a dead mount goes at the next mount)', () => {
    const d = `${home}/mnt`;
    const mounted = `grep -c " ${d} " /proc/self/mountinfo`;
    // (a bracket in the pattern, so that it does not find this script, whose text holds it)
    const proc = `pgrep -u $(id -u) -f -- "mount ${d} [-]-foreground"`;
    const gone = `i=0; while [ $(${mounted}) != 0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo "$1=$(${mounted})"`;
    const r = inNamespace([
      `gone() { ${gone}; }`,
      `${dbox} mount ${d} && echo "printed=ok"`,
      `ls ${d} | grep -qx ${c} && echo "listed=ok"`,
      `echo "hello=$(cat ${d}/${c}/data/hello.txt)"`,
      `echo "grep=$(grep -rl secret ${d}/${c}/data)"`,
      `echo by-tools > ${d}/${c}/tmp/tools.txt && echo "wrote=ok"`,
      `echo "owner=$(stat -c %u:%g ${d}/${c}/data/secret)"`,
      `${dbox} umount ${d}; gone umount`,
      `${dbox} mount ${d} >/dev/null; kill -INT $(${proc}); gone sigint`,
      `${dbox} mount ${d} >/dev/null; kill -9 $(${proc}); sleep 0.2; stat ${d} 2>&1 | grep -q "not connected" && echo "dead=yes"`,
      `${dbox} mount ${d} >/dev/null && echo "again=$(cat ${d}/${c}/tmp/tools.txt)"`,
      `${dbox} umount ${d}; gone last`,
      leftovers,
    ].join('\n'));
    expect(said(r.stdout)).toEqual({printed: 'ok', listed: 'ok', hello: 'HELLO', grep: `${d}/${c}/data/secret`, wrote: 'ok', owner: '0:0',
      umount: '0', sigint: '0', dead: 'yes', again: 'by-tools', last: '0', mounts: '0', procs: '0', runtime: '0'});
    expect(r.status).toBe(0);
    expect(remote.docker('exec', c, 'cat', '/tmp/tools.txt')).toBe('by-tools');
    expect(fs.readdirSync(home)).toContain('mnt'); // the user's own directory: kept, empty
    expect(fs.readdirSync(`${home}/mnt`)).toEqual([]);
  }, 120_000);

  it('where /dev/fuse is not open to the user: a clear error, nothing mounted or made; the builtins still work', () => {
    const r = inNamespace(`${dbox} mount ${home}/m0; echo "status=$?"; test -e ${home}/m0 && echo "made=yes"; ` +
      `${dbox} -c 'cat /containers/${c}/data/hello.txt; grep -c H /containers/${c}/data/hello.txt'; echo "line=$?"; ${leftovers}`, '600');
    expect(said(r.stdout)).toEqual({status: '1', line: '2', mounts: '0', procs: '0', runtime: '0'});
    expect(r.stdout).toContain('HELLO\n');
    const why = "/dev/fuse is not open to this user (mode 0600; most systems make it 0666, as the fuse3 package's udev rule does: ask the administrator)";
    expect(r.stderr).toContain(`dbox: mount: ${home}/m0: ${why}`);
    expect(r.stderr).toContain(`dbox: other commands cannot reach /containers: the mount did not start (${why}; log: `);
  }, 120_000);

  it('no agent, image or door is left once the idle time has passed', async () => {
    const deadline = Date.now() + 60_000;
    const left = (): boolean => remote.docker('ps', '-aq', '--filter', 'label=dbox.agent') !== '' ||
      doors().some((n) => !doorsBefore.includes(n));
    while (left()) {
      if (Date.now() > deadline) throw new Error(`left behind: ${remote.docker('ps', '-a')} ${doors().join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(remote.docker('images', '-aq', '--filter', 'label=dbox.agent')).toBe('');
  }, 90_000);
});
