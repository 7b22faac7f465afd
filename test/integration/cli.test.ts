// dbox -c and line-by-line stdin, as a user runs them: the built bundle in a real process
// against real containers.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dbox, dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {until} from './wait.js';

const hasEngine = requireEngine();

describe.runIf(hasEngine)('dbox -c', () => {
  let fixture: Fixture;
  let web: string;
  let db: string;
  let old: string;
  let work: string;

  beforeAll(() => {
    fixture = makeFixture('cli', {
      'etc/hostname.txt': 'fixture\n',
      'data/a.txt': 'A\n',
      'data/b.txt': 'B\n',
      'data/.hidden': 'h\n',
      'data/tree/x/y.txt': 'deep\n',
      'data/tree/link': {symlink: 'x/y.txt'},
    });
    web = fixture.run('web');
    db = fixture.run('db');
    old = fixture.create('old');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-cli-'));
  });
  afterAll(() => {
    fixture?.cleanup();
    if (work) fs.rmSync(work, {recursive: true, force: true});
  });

  it('ls -l shows a link\'s size and a device\'s numbers the same for a stopped container (the archive) as for a running one', () => {
    docker('exec', web, 'sh', '-c', 'mkdir -p /data/dev && mknod /data/dev/null2 c 1 3 && mknod /data/dev/sda9 b 8 9');
    const c = fixture.create('sizes');
    try {
      // The same tree in a stopped container: copied from the running one by the engine.
      execFileSync('sh', ['-c', `docker cp ${web}:/data - | docker cp - ${c}:/`]);
      // type, size (a device: major, minor) and name of each link and device in `ls -l`.
      const columns = (name: string): string[] => dbox(`ls -l /containers/${name}/data/tree /containers/${name}/data/dev`).stdout.split('\n')
        .filter((l) => /^[lcb]/.test(l)).map((l) => {
          const f = l.split(/\s+/);
          return l[0] === 'l' ? `l ${f[4]} ${f.slice(-3).join(' ')}` : `${l[0]} ${f[4]} ${f[5]} ${f.at(-1)}`;
        });
      const running = columns(web);
      expect(running).toEqual(['c 1, 3 null2', 'b 8, 9 sda9', 'l 7 link -> x/y.txt']); // operands sorted, as GNU ls
      expect(columns(c)).toEqual(running);
    } finally {
      docker('rm', '-f', c);
      docker('exec', web, 'rm', '-rf', '/data/dev');
    }
  });

  it('ls /containers lists running and stopped containers', () => {
    const r = dbox('ls /containers');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining([web, db, old]));
  });

  it('ls -l /containers shows state, image and short id', () => {
    const line = dbox('ls -l /containers').stdout.split('\n').find((l) => l.endsWith(` ${old}`));
    const id = docker('inspect', '-f', '{{.Id}}', old).slice(0, 12);
    expect(line).toMatch(new RegExp(`^created +${fixture.tag} +${id} `));
  });

  it('ls -l shows the GNU long format with owners from the container', () => {
    docker('exec', web, 'sh', '-c', 'echo x > /data/owned && chown 1000:1000 /data/owned && ln -sf a.txt /data/l');
    const r = dbox(`ls -l /containers/${web}/data`);
    expect(r.stdout).toMatch(/^total \d+\n/);
    expect(r.stdout).toMatch(/\n-rw-r--r-- +1 app +app +2 \w{3} [ \d]\d [ \d]\d:\d\d owned\n/);
    expect(r.stdout).toMatch(/\nlrwxrwxrwx +1 root +root +5 .* l -> a\.txt\n/);
    expect(r.stdout).not.toContain('.hidden');
    expect(dbox(`ls -A /containers/${web}/data`).stdout).toContain('.hidden');
    expect(dbox(`ls -a /containers/${web}/data`).stdout.split('\n').slice(0, 2)).toEqual(['.', '..']);
  });

  it('ls -d, -R and -h', () => {
    expect(dbox(`ls -d /containers/${web}/data`).stdout).toBe(`/containers/${web}/data\n`);
    expect(dbox(`ls -R /containers/${web}/data/tree`).stdout).toBe(
      `/containers/${web}/data/tree:\nlink\nx\n\n/containers/${web}/data/tree/x:\ny.txt\n`,
    );
    docker('exec', web, 'dd', 'if=/dev/zero', 'of=/tmp/big', 'bs=1024', 'count=1536');
    expect(dbox(`ls -lh /containers/${web}/tmp/big`).stdout).toMatch(/ 1\.5M /);
  });

  it('ls of a stopped container goes through the engine', () => {
    expect(dbox(`ls /containers/${old}/data`).stdout).toBe('a.txt\nb.txt\ntree\n');
    expect(dbox(`cat /containers/${old}/data/tree/link`).stdout).toBe('deep\n');
  });

  it('cd, pwd and chains', () => {
    expect(dbox(`cd /containers/${web}/etc && cat hostname.txt && pwd`).stdout).toBe(`fixture\n/containers/${web}/etc\n`);
    expect(dbox(`cd /containers/${web}/data/tree/x; cd ../../..; pwd`).stdout).toBe(`/containers/${web}\n`);
    expect(dbox(`cd /containers/${web}; cd ..; pwd`).stdout).toBe('/containers\n');
    expect(dbox(`cd /containers/${web} && cd /tmp && cd - && cd`, {env: {HOME: work}}).stdout).toBe(`/containers/${web}\n`);
    expect(dbox('cd ~ && pwd', {env: {HOME: work}}).stdout).toBe(`${work}\n`);
    expect(dbox('cat /nope || pwd', {cwd: work}).stdout).toBe(`${work}\n`);
    expect(dbox('cat /nope && pwd').stdout).toBe('');
  });

  it('globs expand inside containers', () => {
    expect(dbox(`ls /containers/${web}/data/*.txt`).stdout).toBe(`/containers/${web}/data/a.txt\n/containers/${web}/data/b.txt\n`);
    expect(dbox(`cd /containers/${web}/data && cat ?.txt`).stdout).toBe('A\nB\n');
    const r = dbox(`ls /containers/*-${process.pid}/etc/hostname.txt`);
    expect(r.stdout.trim().split('\n')).toEqual([db, old, web].sort().map((n) => `/containers/${n}/etc/hostname.txt`));
    expect(dbox(`cat /containers/${web}/data/[ab].txt`).stdout).toBe('A\nB\n');
  });

  it('cat: several files, binary-safe, stdin', () => {
    docker('exec', web, 'sh', '-c', 'dd if=/dev/urandom of=/tmp/bin bs=1024 count=300 2>/dev/null');
    const viaDocker = spawnSync('docker', ['exec', web, 'cat', '/tmp/bin']).stdout;
    const viaDbox = spawnSync(process.execPath, [dboxPath, '-c', `cat /containers/${web}/tmp/bin`]).stdout;
    expect(viaDbox.equals(viaDocker)).toBe(true);
    expect(dbox(`cat /containers/${web}/data/a.txt - /containers/${web}/data/b.txt`, {input: 'stdin\n'}).stdout).toBe('A\nstdin\nB\n');
  });

  it('errors in coreutils style, with a non-zero status', () => {
    const cases: [string, number, string][] = [
      [`cat /containers/${web}/nope`, 1, `cat: /containers/${web}/nope: No such file or directory\n`],
      [`cat /containers/${web}/data`, 1, `cat: /containers/${web}/data: Is a directory\n`],
      // cd is bash's own: its message, with the shell's name and line as bash -c prints them.
      [`cd /containers/${web}/data/a.txt`, 1, `dbox: line 1: cd: /containers/${web}/data/a.txt: Not a directory\n`],
      [`ls /containers/${web}/nope`, 2, `ls: cannot access '/containers/${web}/nope': No such file or directory\n`],
      [`cp /containers/${web}/nope /tmp/`, 1, `cp: cannot stat '/containers/${web}/nope': No such file or directory\n`],
      ['ls -z', 2, "ls: invalid option -- 'z'\nTry 'help ls' for more information.\n"],
      // GNU: usage errors exit 2 for ls, 1 for cp.
      ['cp x', 1, "cp: missing destination file operand after 'x'\nTry 'help cp' for more information.\n"],
    ];
    for (const [line, status, stderr] of cases) {
      const r = dbox(line);
      expect({line, status: r.status, stderr: r.stderr}).toEqual({line, status, stderr});
    }
  });

  it('an unknown container gets a "did you mean"', () => {
    const typo = web.replace('web', 'wbe');
    const r = dbox(`cat /containers/${typo}/etc/hostname.txt`);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`cat: /containers/${typo}/etc/hostname.txt: No such file or directory (no container '${typo}'; did you mean '${web}'?)\n`);
  });

  it('permission denied is reported as such', () => {
    // Run as nobody: the host's /root is not readable.
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, dboxPath, '-c', 'ls /root'],
      {encoding: 'utf8', env: {...process.env, DOCKER_HOST: 'unix:///nonexistent.sock'}});
    expect(r.stderr).toBe("ls: cannot open directory '/root': Permission denied\n");
    expect(r.status).toBe(2);
  });

  it('no engine: says how to start one, host paths still work', () => {
    const env = {DOCKER_HOST: 'unix:///nonexistent/docker.sock'};
    const r = dbox('ls /containers', {env});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^dbox: cannot connect to the Docker engine at unix:\/\/\/nonexistent\/docker.sock .*\nStart one with `npm run setup`/);
    expect(dbox(`ls ${work}/..`, {env}).status).toBe(0);
  });

  it('cp: file to file, file to dir, several sources, host <-> container <-> container', () => {
    const host = path.join(work, 'h.txt');
    fs.writeFileSync(host, 'from host\n');
    expect(dbox(`cp ${host} /containers/${web}/tmp/`).status).toBe(0);
    expect(dbox(`cp /containers/${web}/tmp/h.txt /containers/${db}/tmp/renamed.txt`).status).toBe(0);
    expect(docker('exec', db, 'cat', '/tmp/renamed.txt')).toBe('from host');
    expect(dbox(`cp /containers/${web}/data/a.txt /containers/${web}/data/b.txt /containers/${db}/tmp`).status).toBe(0);
    expect(docker('exec', db, 'cat', '/tmp/a.txt', '/tmp/b.txt')).toBe('A\nB');
    expect(dbox(`cp /containers/${db}/tmp/a.txt ${work}/back.txt`).status).toBe(0);
    expect(fs.readFileSync(path.join(work, 'back.txt'), 'utf8')).toBe('A\n');
    expect(dbox(`cp /containers/${old}/data/a.txt ${work}/from-stopped.txt`).status).toBe(0);
    expect(fs.readFileSync(path.join(work, 'from-stopped.txt'), 'utf8')).toBe('A\n');
    expect(dbox(`cp ${host} /containers/${old}/tmp/`).status).toBe(0);
    expect(dbox(`cat /containers/${old}/tmp/h.txt`).stdout).toBe('from host\n');
  });

  it('cp -r and -a copy trees with modes, owners, times and links', () => {
    docker('exec', web, 'sh', '-c', 'chown -R 1000:1000 /data/tree && chmod 751 /data/tree/x && touch -d "2020-01-02 03:04:05" /data/tree/x/y.txt');
    expect(dbox(`cp -a /containers/${web}/data/tree /containers/${db}/tmp/`).status).toBe(0);
    const st = docker('exec', db, 'stat', '-c', '%a %u:%g %Y', '/tmp/tree/x', '/tmp/tree/x/y.txt');
    expect(st.split('\n')).toEqual(['751 1000:1000 ' + docker('exec', web, 'stat', '-c', '%Y', '/data/tree/x'),
      '644 1000:1000 ' + String(Date.UTC(2020, 0, 2, 3, 4, 5) / 1000)]);
    expect(docker('exec', db, 'readlink', '/tmp/tree/link')).toBe('x/y.txt');
    expect(dbox(`cp -r /containers/${web}/data/tree ${work}/tree`).status).toBe(0);
    expect(fs.readFileSync(path.join(work, 'tree/x/y.txt'), 'utf8')).toBe('deep\n');
    expect(dbox(`cp -r ${work}/tree /containers/${old}/tmp/`).status).toBe(0);
    expect(dbox(`cat /containers/${old}/tmp/tree/x/y.txt`).stdout).toBe('deep\n');
    // Merging into an existing tree
    expect(dbox(`cp -r /containers/${web}/data/tree ${work}/`).status).toBe(0);
    expect(dbox(`cp /containers/${web}/data/tree ${work}/`).stderr).toBe(`cp: -r not specified; omitting directory '/containers/${web}/data/tree'\n`);
  });

  it('cp refuses copying a file onto itself', () => {
    const r = dbox(`cd /containers/${web}/data && cp a.txt /containers/${web}/data/`);
    expect(r).toEqual({status: 1, stdout: '', stderr: `cp: 'a.txt' and '/containers/${web}/data/a.txt' are the same file\n`});
    expect(docker('exec', web, 'cat', '/data/a.txt')).toBe('A');
  });

  it('interrupting a long cp leaves no partial file', async () => {
    docker('exec', web, 'dd', 'if=/dev/zero', 'of=/tmp/huge', 'bs=1M', 'count=1024');
    // The destination's /tmp as this host sees it: the copy's temporary shows there the moment it exists.
    const dbTmp = `/proc/${docker('inspect', '-f', '{{.State.Pid}}', db)}/root/tmp`;
    const child = spawn(process.execPath, [dboxPath, '-c', `cp /containers/${web}/tmp/huge /containers/${db}/tmp/huge`], {stdio: 'pipe'});
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((r) => child.on('exit', (code, signal) => r({code, signal})));
    let ended = false;
    void exited.then(() => (ended = true));
    // In the middle of the copy (its temporary exists), or already done: then the signal finds nothing to stop.
    const deadline = Date.now() + 60_000;
    while (!ended && !fs.readdirSync(dbTmp).some((n) => n.startsWith('.huge.dbox-'))) {
      if (Date.now() > deadline) throw new Error('the copy never started');
      await new Promise((r) => setTimeout(r, 1));
    }
    child.kill('SIGINT');
    const {code, signal} = await exited;
    // Either it finished before the signal or it stopped: never a half-written file or a temporary.
    const listing = docker('exec', db, 'ls', '-a', '/tmp');
    expect(listing).not.toMatch(/dbox-/);
    if (code !== 0) {
      // Interrupted as `bash -c` is: by SIGINT (dbox dies by it after its bash).
      expect(signal === 'SIGINT' || code === 130, `status ${code}, signal ${signal}`).toBe(true);
      expect(stderr).toBe('cp: interrupted; nothing was left at the destination\n');
      expect(listing.split('\n')).not.toContain('huge');
    } else {
      expect(docker('exec', db, 'stat', '-c', '%s', '/tmp/huge')).toBe(String(1024 ** 3));
    }
    docker('exec', db, 'rm', '-f', '/tmp/huge');
  });

  it('copying a 1 GiB file keeps peak RSS under 150 MiB, on the native and the streaming path', async () => {
    // The same file in a stopped container: read through the engine's archive stream.
    const stopped = fixture.run('huge');
    docker('exec', stopped, 'dd', 'if=/dev/zero', 'of=/tmp/huge', 'bs=1M', 'count=1024');
    docker('stop', '-t', '0', stopped);
    for (const [from, to] of [[`/containers/${web}/tmp/huge`, `/containers/${db}/tmp/huge`],
      [`/containers/${stopped}/tmp/huge`, path.join(work, 'huge')]]) {
      const child = spawn(process.execPath, [dboxPath, '-c', `cp ${from} ${to}`], {stdio: 'ignore'});
      let peakKb = 0;
      const poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) peakKb = Math.max(peakKb, Number(m[1]));
        } catch { /* exited */ }
      }, 10);
      const status = await new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      clearInterval(poll);
      expect(status).toBe(0);
      expect(peakKb).toBeGreaterThan(0);
      expect(peakKb / 1024).toBeLessThan(150);
    }
    expect(fs.statSync(path.join(work, 'huge')).size).toBe(1024 ** 3);
    fs.rmSync(path.join(work, 'huge'));
    docker('rm', '-f', stopped);
    docker('exec', web, 'rm', '-f', '/tmp/huge');
    docker('exec', db, 'rm', '-f', '/tmp/huge');
  });

  it('a container removed during a copy is reported, with a non-zero status', async () => {
    const victim = fixture.run('victim');
    // The source is a host FIFO the test holds open: the copy waits in the middle, its
    // temporary in the container, until the container is gone (no race with the copy's speed).
    const fifo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-victim-')), 'src');
    execFileSync('mkfifo', [fifo]);
    const writer = fs.openSync(fifo, fs.constants.O_RDWR); // never blocks, and never sees EPIPE
    fs.writeSync(writer, Buffer.alloc(64 << 10, 'x'));
    const child = spawn(process.execPath, [dboxPath, '-c', `cp ${fifo} /containers/${victim}/tmp/copied`], {stdio: 'pipe'});
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const underWay = (): boolean => /\.copied\.dbox-/.test(docker('exec', victim, 'ls', '-a', '/tmp'));
    for (const deadline = Date.now() + 60_000; !underWay();) {
      if (Date.now() > deadline) throw new Error(`the copy did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    docker('rm', '-f', victim);
    fs.writeSync(writer, Buffer.alloc(64 << 10, 'y'));
    fs.closeSync(writer);
    expect(await exited).toBe(1);
    expect(stderr).toMatch(new RegExp(`^cp: (container '${victim}' was removed during the copy|cannot copy .*)\n$`));
    fs.rmSync(path.dirname(fifo), {recursive: true});
  });

  it('a signal while the session opens ends it there: dbox dies by it, the line never runs, nothing of the session is left', async () => {
    // A silent engine (it accepts and never answers) holds the opening: a line that runs an external
    // program waits for the mount, which waits for the engine. The signal comes in that moment.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-cli-open-'));
    const net = await import('node:net');
    const held: import('node:net').Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(path.join(dir, 'engine.sock'), r));
    const children = (pid: number): number[] => fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
      try {
        return fs.readFileSync(`/proc/${n}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    }).map(Number);
    const args = (pid: number): string => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    try {
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
        const run = path.join(dir, `run-${signal}`);
        fs.mkdirSync(run, {mode: 0o700});
        const ran = path.join(dir, `ran-${signal}`);
        const child = spawn(process.execPath, [dboxPath, '-c', `/bin/cat /containers/${web}/data/a.txt; touch ${ran}`], {
          env: {...process.env, DOCKER_HOST: `unix://${path.join(dir, 'engine.sock')}`, DOCKER_CONTEXT: '', XDG_RUNTIME_DIR: run},
          stdio: 'ignore'});
        const ended = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, sig) => r(sig ?? code)));
        const session = path.join(run, 'dbox', String(child.pid));
        // Opening: its runtime directory made, its mount starting, no bash yet.
        await until('the session to be opening', () => fs.existsSync(`${session}/sock`) &&
          children(child.pid!).some((p) => args(p).includes('\0mount\0')));
        expect(children(child.pid!).flatMap((p) => [p, ...children(p)]).map(args).some((a) => a.startsWith('/bin/bash') || a.startsWith('dbox\0'))).toBe(false);
        const mount = children(child.pid!).filter((p) => args(p).includes('\0mount\0'));
        child.kill(signal);
        expect(await ended).toBe(signal);
        expect(fs.existsSync(session)).toBe(false);
        expect(fs.existsSync(ran)).toBe(false);
        await until('the mount process to be gone', () => mount.every((p) => !fs.existsSync(`/proc/${p}`)));
      }
    } finally {
      for (const s of held) s.destroy();
      silent.close();
      fs.rmSync(dir, {recursive: true, force: true});
    }
  }, 180_000);

  it('SIGINT sent to dbox alone ends the line as a terminal\'s Ctrl-C would; kill -9 of dbox ends its bash too', async () => {
    const descendants = (pid: number): number[] => {
      const kids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
        try {
          const st = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
          return st.slice(st.lastIndexOf(')') + 2).split(' ')[1] === String(pid);
        } catch {
          return false;
        }
      }).map(Number);
      return kids.flatMap((k) => [k, ...descendants(k)]);
    };
    const cmd = (pid: number): string => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    const after = path.join(work, 'after-sigint');
    const child = spawn(process.execPath, [dboxPath, '-c', `sleep 300; touch ${after}`], {stdio: 'ignore'});
    const ended = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, sig) => r(sig ?? code)));
    await until('the line\'s sleep', () => descendants(child.pid!).some((p) => cmd(p) === 'sleep\u0000300\u0000'));
    child.kill('SIGINT');
    expect(await ended).toBe('SIGINT');
    expect(fs.existsSync(after)).toBe(false);
    // kill -9: its bash is told (SIGHUP, as by a terminal that went away) and ends; the loop with it.
    const loop = spawn(process.execPath, [dboxPath, '-c', 'while :; do sleep 0.05; done'], {stdio: 'ignore'});
    const bash = await until('the session\'s bash', () => descendants(loop.pid!).find((p) => cmd(p).startsWith('dbox\u0000--norc')));
    loop.kill('SIGKILL');
    await until('its bash to end', () => !fs.existsSync(`/proc/${bash}`) || /^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${bash}/stat`, 'utf8')), 30_000);
    expect((await dbox('true')).status).toBe(0); // (the next dbox clears what kill -9 left)
  }, 120_000);

  it('reads lines from a non-terminal stdin and exits with the last status', () => {
    const r = spawnSync(process.execPath, [dboxPath], {
      input: `cd /containers/${web}/data\ncat a.txt\npwd\ncat nope\n`, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'},
    });
    expect(r.stdout).toBe(`A\n/containers/${web}/data\n`);
    expect(r.stderr).toBe('cat: nope: No such file or directory\n');
    expect(r.status).toBe(1);
    expect(spawnSync(process.execPath, [dboxPath], {input: 'exit 7\npwd\n'}).status).toBe(7);
  });

  it('--help, --version and exit statuses', () => {
    expect(spawnSync(process.execPath, [dboxPath, '--version'], {encoding: 'utf8'}).stdout).toMatch(/^dbox \d+\.\d+\.\d+\n$/);
    expect(spawnSync(process.execPath, [dboxPath, '--help'], {encoding: 'utf8'}).stdout).toContain("dbox -c 'LINE'");
    expect(dbox('exit 3').status).toBe(3);
    expect(dbox('help').stdout).toContain('cp [-adfHiLlnPpRrsTuvx] [--preserve[=LIST]] [--sparse=WHEN] [--parents] [-t DIR] SOURCE... DEST');
  });
});
