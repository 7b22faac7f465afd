// The session as programs see it: bash's language end to end, dbox's builtins inside bash
// (pipelines, redirects, the same output as at the prompt), container paths as real paths for
// every program through the session's private mount namespace, which leaves nothing on the host,
// the supervised mount, and the builtin socket against a hostile caller.
import {spawn, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dbox, dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {until} from './wait.js';

const hasEngine = requireEngine();
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const mountsOf = (pid: number | 'self'): string => fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');


describe.runIf(hasEngine)('the session: bash, builtins and real container paths', () => {
  let fixture: Fixture;
  let a: string;
  let b: string;
  let runtime: string;
  let work: string;
  const env = (): NodeJS.ProcessEnv => ({XDG_RUNTIME_DIR: runtime, XDG_STATE_HOME: path.join(work, 'state')});

  beforeAll(() => {
    fixture = makeFixture('ses', {'etc/app.conf': 'name=alpha\nroot=yes\n', 'data/a.txt': 'A\n', 'data/b.txt': 'B\n'});
    a = fixture.run('a');
    b = fixture.run('b');
    docker('exec', b, 'sh', '-c', 'echo "nobody:x:65534:65534::/:/bin/false" >> /etc/passwd');
    runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-run-'));
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-ses-'));
  });
  afterAll(() => {
    fixture?.cleanup();
    fs.rmSync(runtime, {recursive: true, force: true});
    fs.rmSync(work, {recursive: true, force: true});
  });

  it("runs bash's language: status, exports, assignments, cd inside lines, loops, functions", () => {
    const r = dbox('false; echo $?; export FOO=1; echo $FOO; X=1; echo $X; cd /tmp && pwd; for i in 1 2; do echo $i; done; f() { return 3; }; f; echo $?', {env: env()});
    expect(r.stdout).toBe('1\n1\n1\n/tmp\n1\n2\n3\n');
    expect(r.status).toBe(0);
    expect(dbox('exit 4', {env: env()}).status).toBe(4);
  });

  it('container paths are real paths for every program: nothing is rewritten', () => {
    const r = dbox(`cd /containers/${a}/etc && pwd && /bin/pwd && realpath app.conf && echo "$PWD" '/containers/${a}' && grep -rl alpha /containers/${a}/etc && cd .. && echo $OLDPWD`, {env: env()});
    expect(r.stdout).toBe([`/containers/${a}/etc`, `/containers/${a}/etc`, `/containers/${a}/etc/app.conf`,
      `/containers/${a}/etc /containers/${a}`, `/containers/${a}/etc/app.conf`, `/containers/${a}/etc`, ''].join('\n'));
    expect(r.status).toBe(0);
    // Words meant elsewhere stay as they are.
    expect(dbox(`echo '/containers/${a}' | sed 's|/containers/|X/|'`, {env: env()}).stdout).toBe(`X/${a}\n`);
  });

  it('grep -rn | head, tar | tar | wc, diff, sha256sum on container paths', () => {
    const grep = dbox(`grep -rn root /containers/${a}/etc | head -5`, {env: env()});
    expect(grep.status).toBe(0);
    expect(grep.stdout).toMatch(new RegExp(`^/containers/${a}/etc/app\\.conf:2:root=yes$`, 'm'));
    expect(dbox(`tar -C /containers/${a}/etc -cf - . | tar -tf - | wc -l`, {env: env()}).stdout.trim()).toBe(String(docker('exec', a, 'find', '/etc').split('\n').length));
    const diff = dbox(`diff -u /containers/${a}/etc/passwd /containers/${b}/etc/passwd`, {env: env()});
    expect(diff.status).toBe(1);
    expect(diff.stdout).toContain(`--- /containers/${a}/etc/passwd`);
    expect(diff.stdout).toContain('+nobody:x:65534');
    expect(dbox(`sha256sum /containers/${a}/bin/busybox`, {env: env()}).stdout).toBe(`${sha(fs.readFileSync('/bin/busybox'))}  /containers/${a}/bin/busybox\n`);
  });

  it('cd into a container, then sed -i and vim edit its files', () => {
    expect(dbox(`cd /containers/${a}/etc; sed -i s/alpha/beta/ app.conf`, {env: env()}).status).toBe(0);
    expect(docker('exec', a, 'cat', '/etc/app.conf')).toBe('name=beta\nroot=yes');
    const vim = dbox(`vim -u NONE -es -c '%s/beta/gamma/' -c wq /containers/${a}/etc/app.conf`, {env: env()});
    expect(vim.status).toBe(0);
    expect(docker('exec', a, 'cat', '/etc/app.conf')).toBe('name=gamma\nroot=yes');
  });

  it('builtins work inside pipelines and redirects, with the output they have at the prompt', () => {
    // (A container's directory, not /containers: other tests' containers come and go meanwhile.)
    const plain = dbox(`ls -l /containers/${a}/etc`, {env: env()}).stdout;
    expect(dbox(`ls -l /containers/${a}/etc | cat`, {env: env()}).stdout).toBe(plain);
    expect(dbox(`ls -l /containers/${a}/etc | grep app`, {env: env()}).stdout).toBe(plain.split('\n').filter((l) => l.includes('app')).map((l) => l + '\n').join(''));
    expect(dbox(`ls -l /containers | grep -c ' ${a}$'`, {env: env()}).stdout).toBe('1\n');
    const out = path.join(work, 'x');
    expect(dbox(`ls /containers/${a}/etc > ${out}; ls /containers/${a}/etc 2>&1 >/dev/null | wc -c`, {env: env()}).stdout).toBe('0\n');
    expect(fs.readFileSync(out, 'utf8')).toBe(dbox(`ls /containers/${a}/etc`, {env: env()}).stdout);
    // stdin from a pipe, a here-document, process substitution; stdout into a pipe that closes early.
    expect(dbox('printf "x\\ny\\n" | cat; cat <<EOF\nhere $((1+1))\nEOF\ncat <(echo procsub)', {env: env()}).stdout).toBe('x\ny\nhere 2\nprocsub\n');
    expect(dbox(`cat /containers/${a}/bin/busybox | head -c 4 | od -An -c; echo "\${PIPESTATUS[*]}"`, {env: env()}).stdout).toMatch(/177 {3}E {3}L {3}F\n141 0 0\n$/);
    // `command ls` is the system's.
    expect(dbox(`command ls -d /containers/${a}`, {env: env()}).stdout).toBe(`/containers/${a}\n`);
  });

  it('drains all output before exiting, through a pipe', () => {
    const r = spawnSync('sh', ['-c', `${process.execPath} ${dboxPath} -c 'ls -la /usr/bin' | wc -c`], {encoding: 'utf8'});
    const native = spawnSync('sh', ['-c', `LC_ALL=C ls -la /usr/bin | wc -c`], {encoding: 'utf8'}).stdout;
    // Same number of entries (dbox's ls is not GNU's byte for byte here: sizes of lines may differ).
    const lines = spawnSync('sh', ['-c', `${process.execPath} ${dboxPath} -c 'ls -la /usr/bin' | wc -l`], {encoding: 'utf8'}).stdout;
    expect(Number(lines)).toBe(Number(spawnSync('sh', ['-c', 'ls -la /usr/bin | wc -l'], {encoding: 'utf8'}).stdout));
    expect(Number(r.stdout)).toBeGreaterThan(65536);
    expect(Number(native)).toBeGreaterThan(65536);
  });

  it('runs scripts with arguments, and commands from a pipe', () => {
    const script = path.join(work, 's.sh');
    fs.writeFileSync(script, `echo "$0 $# $1"\ncd /containers/${a}/data\nls\ncat a.txt b.txt | wc -l\nexit 5\n`);
    const r = spawnSync(process.execPath, [dboxPath, script, 'one', 'two'], {encoding: 'utf8', env: {...process.env, ...env()}});
    expect(r.stdout).toBe(`${script} 2 one\na.txt\nb.txt\n2\n`);
    expect(r.status).toBe(5);
    // As bash reading a script from a pipe: a command reading stdin takes the next line of it.
    const piped = spawnSync(process.execPath, [dboxPath], {input: `cd /containers/${a}/data\nls\nread line\nfrom stdin\necho "read: $line"\n`, encoding: 'utf8', env: {...process.env, ...env()}});
    expect(piped.stdout).toBe('a.txt\nb.txt\nread: from stdin\n');
  });

  it('an interrupted builtin dies by SIGINT, so bash stops the line as for any command', async () => {
    // As on a terminal without job control (dbox -c): Ctrl-C reaches the whole process group.
    const child = spawn(process.execPath, [dboxPath, '-c', 'sleep 100 | cat; echo after'], {env: {...process.env, ...env()}, stdio: ['ignore', 'pipe', 'pipe'], detached: true});
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const client = `${runtime}/dbox/${child.pid}/dbox cat`;
    await until('the builtin to run', () => spawnSync('pgrep', ['-f', client]).status === 0);
    process.kill(-child.pid!, 'SIGINT');
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    expect(stdout).toBe('');
    expect({code, signal}).toEqual({code: null, signal: 'SIGINT'});
  });

  it('makes nothing on the host: no mount, no directory, no file; the session directory goes', async () => {
    const before = mountsOf('self');
    const rootBefore = fs.readdirSync('/').sort();
    const child = spawn(process.execPath, [dboxPath, '-c', `ls /containers/${a} > /dev/null; mkdir /made-by-dbox; touch /containers-left; cat /proc/self/mountinfo`],
      {env: {...process.env, ...env()}, stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise((r) => child.on('exit', r));
    // Inside: the mount at /containers, a read-only root.
    expect(out).toMatch(/ \/containers [^\n]*fuse/);
    expect(err).toMatch(/^mkdir: cannot create directory .\/made-by-dbox.: Read-only file system$/m);
    // Outside: no mount of the session (others' tests may mount meanwhile: only ours are looked for),
    // the same root, no /containers.
    const ours = (m: string): string[] => m.split('\n').filter((l) => l.includes(runtime) || / \/(containers|hosts) /.test(l));
    expect(ours(mountsOf('self'))).toEqual(ours(before));
    expect(fs.readdirSync('/').sort()).toEqual(rootBefore);
    expect(fs.existsSync('/containers')).toBe(rootBefore.includes('containers'));
    await until('the runtime directory to be empty', () => fs.readdirSync(path.join(runtime, 'dbox')).length === 0);
  });

  it('without FUSE, builtins work and other commands are told why /containers is empty', () => {
    // A private mount namespace where /dev/fuse is not a FUSE device.
    const r = spawnSync('unshare', ['-m', 'sh', '-c',
      `mount --bind /dev/null /dev/fuse && ${process.execPath} ${dboxPath} -c 'cat /containers/${a}/etc/app.conf; grep root /containers/${a}/etc/app.conf'`],
    {encoding: 'utf8', env: {...process.env, ...env()}});
    expect(r.stdout).toBe(`${docker('exec', a, 'cat', '/etc/app.conf')}\n`);
    expect(r.stderr).toMatch(/^dbox: other commands cannot reach \/containers: the mount did not start \(.+\)\n/);
    expect(r.stderr).toContain(`grep: /containers/${a}/etc/app.conf: No such file or directory`);
    expect(r.status).toBe(2);
  });

  it('restarts the mount when it dies, with a one-line notice, and the next command works', () => {
    // A script kills its own session's mount (dbox's child in its own session), then uses it again.
    const script = path.join(work, 'kill-mount.sh');
    fs.writeFileSync(script, [
      `cat /containers/${a}/etc/hostname > /dev/null`,
      `m=$(pgrep -P $PPID -f 'mount /containers --foreground')`,
      'test "$(ps -o sid= -p $m)" -eq "$m" && echo "own session"',
      'kill -9 $m',
      `for i in $(seq 1 600); do [ -r /containers/${a}/etc/app.conf ] && cat /containers/${a}/etc/app.conf 2>/dev/null && break; sleep 0.05; done`,
    ].join('\n') + '\n');
    const r = spawnSync(process.execPath, [dboxPath, script], {encoding: 'utf8', env: {...process.env, ...env()}});
    expect(r.stdout).toBe('own session\nname=gamma\nroot=yes\n');
    expect(r.stderr).toMatch(/^dbox: the mount of \/containers stopped \(killed by SIGKILL\); started it again \(log: .*mount\.log\)\n$/);
  });

  it('the mount goes with a killed dbox; what a crash leaves is cleaned at the next start', async () => {
    const child = spawn(process.execPath, [dboxPath], {env: {...process.env, ...env()}, stdio: ['pipe', 'pipe', 'inherit']});
    child.stdin!.write(`ls /containers/${a}/etc > /dev/null; echo ready\n`);
    await until('the session', () => {
      try {
        return spawnSync('pgrep', ['-P', String(child.pid), '-f', 'mount /containers --foreground'], {encoding: 'utf8'}).stdout.trim() || false;
      } catch {
        return false;
      }
    });
    const mountPid = Number(spawnSync('pgrep', ['-P', String(child.pid), '-f', 'mount /containers --foreground'], {encoding: 'utf8'}).stdout.trim());
    child.kill('SIGKILL');
    child.stdin!.end();
    await until('the mount to end', () => spawnSync('kill', ['-0', String(mountPid)]).status !== 0);
    // The next dbox removes the session directory the killed one left.
    expect(dbox('true', {env: env()}).status).toBe(0);
    await until('no session directory', () => !fs.existsSync(path.join(runtime, 'dbox', String(child.pid))));
  });
});

describe.runIf(hasEngine)('a user other than root', () => {
  it('gets a user namespace mapping only their ids, and the mount fusermount3 made outside bound in; nothing is left', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-nobody-'));
    const dev = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-fusedev-'));
    fs.chownSync(home, 65534, 65534);
    try {
      // Most systems let every user open /dev/fuse (0666); this one does not: a private mount
      // namespace of the test gives it a node that does. Everything else is the machine's.
      const line = 'cat /proc/self/uid_map; grep -E " /(containers|hosts) " /proc/self/mountinfo | cut -d" " -f5,8; id -u; ' +
        'kill -9 $(pgrep -P $PPID -x node); ' +
        'for i in $(seq 200); do grep -q "started again" $HOME/err 2>/dev/null && break; sleep 0.05; done';
      const r = spawnSync('unshare', ['-m', 'sh', '-c', [
        `mount -t tmpfs none ${dev}`, `mknod ${dev}/fuse c 10 229`, `chmod 666 ${dev}/fuse`, `mount --bind ${dev}/fuse /dev/fuse`,
        `setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=${home} DOCKER_HOST=unix:///nonexistent.sock ${process.execPath} ${dboxPath} -c '${line}' 2>${home}/err`,
        `echo "status=$?"`, 'grep -c " /tmp/dbox-65534/" /proc/self/mountinfo || true', 'ls /tmp/dbox-65534/ | grep -c "^[0-9]" || true',
      ].join(' && ')], {encoding: 'utf8'});
      const [map, ...rest] = r.stdout.trim().split('\n');
      expect(map!.trim().split(/\s+/)).toEqual(['65534', '65534', '1']);
      // A FUSE mount on each (fstype "fuse", or "fuse.dbox" as dbox-fuse names its subtype).
      expect(rest.map((l) => l.replace(/ fuse\.dbox$/, ' fuse'))).toEqual(['/containers fuse', '/hosts fuse', '65534', 'status=0', '0', '0']);
      // The host does not pass the new mount into the session here (/ is a private mount): said so.
      expect(fs.readFileSync(path.join(home, 'err'), 'utf8')).toMatch(/the mount of \/containers started again, but this system does not pass it into the session/);
    } finally {
      fs.rmSync(home, {recursive: true, force: true});
      fs.rmSync(dev, {recursive: true, force: true});
    }
  });
});

describe.runIf(hasEngine)('the builtin socket against a hostile caller', () => {
  it('closes connections of another user, malformed frames and stray descriptors; dbox keeps serving', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-sock-'));
    try {
      const script = path.join(work, 'probe.sh');
      // From inside a session: find its socket, attack it, then check a builtin still answers.
      fs.writeFileSync(script, [
        'sock=$(dirname "$(type ls | sed -n "s/^ *\\(\\/[^ ]*\\) ls .*/\\1/p")")/sock',
        'echo "$sock" > ' + path.join(work, 'sock-path'),
        'while [ ! -e ' + path.join(work, 'go') + ' ]; do sleep 0.02; done',
        'ls -d /tmp',
      ].join('\n') + '\n');
      const child = spawn(process.execPath, [dboxPath, script], {stdio: ['ignore', 'pipe', 'pipe']});
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const sock = await until('the socket path', () => fs.existsSync(path.join(work, 'sock-path')) && fs.readFileSync(path.join(work, 'sock-path'), 'utf8').trim());
      expect(fs.statSync(path.dirname(sock)).mode & 0o777).toBe(0o700);
      expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
      const attack = (bytes: Buffer): Promise<string> => new Promise((resolve) => {
        const s = net.connect(sock);
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('error', () => resolve(`error:${got}`));
        s.on('close', () => resolve(got));
        s.on('connect', () => s.write(bytes));
        setTimeout(() => s.destroy(), 10_000);
      });
      // A frame longer than any allowed, a builtin call without descriptors, garbage.
      const huge = Buffer.alloc(5);
      huge.writeUInt32LE(0xffffffff, 0);
      huge.write('B', 4);
      expect((await attack(huge)).replace(/^error:/, '')).toBe('');
      const noFds = Buffer.concat([Buffer.from([8, 0, 0, 0]), Buffer.from('B/\x001\x00ls\x00')]);
      expect((await attack(noFds)).replace(/^error:/, '')).toBe('');
      expect((await attack(Buffer.from('GET / HTTP/1.0\r\n\r\n'))).replace(/^error:/, '')).toBe('');
      // Another user: closed before anything is read.
      const other = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e',
        `const s=require('net').connect(${JSON.stringify(sock)});s.on('error',e=>{console.log(e.code);});s.on('close',()=>console.log('closed'));`], {encoding: 'utf8'});
      // The directory is 0700: nobody cannot even reach the socket.
      expect(other.stdout).toMatch(/EACCES|closed/);
      fs.writeFileSync(path.join(work, 'go'), '');
      const code = await new Promise((r) => child.on('exit', r));
      expect(code).toBe(0);
      expect(out).toBe('/tmp\n');
    } finally {
      fs.rmSync(work, {recursive: true, force: true});
    }
  });
});
