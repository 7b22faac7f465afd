// Copies, reads and listings against hostile containers (and a hostile engine), on real
// containers: names from a container never lead a write out of the destination, a container
// mints no set-id file and no device node on the host, its device nodes are never opened, its
// FIFOs are read interruptibly, a destination link it planted is never written through, hostile
// depths and widths end cleanly, copies into stopped containers survive a kill -9 and a Ctrl-C,
// temporaries left by a kill -9 are swept, and names that are not UTF-8 copy byte for byte.
// Every case checks the host canaries (content, mode, owner, mtime) and what is left behind.
// Slow sides are held by the test (a FIFO it writes to when it wants, an upload held by a relay),
// and every wait has a deadline.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {Writable} from 'node:stream';
import tar from 'tar-stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {chain, dboxPath as builtDbox, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

/** DBOX_UNDER_TEST runs these cases against another build (say, one without the fixes). */
const dboxPath = process.env['DBOX_UNDER_TEST'] ?? builtDbox;
import {Engine} from '../../src/docker/engine.js';
import {EngineFs} from '../../src/vfs/engine-fs.js';
import {LocalFs} from '../../src/vfs/local-fs.js';
import {copyEntry, Progress, sendFile} from '../../src/vfs/transfer.js';
import type {ContainerFs} from '../../src/vfs/types.js';
import {runCaptured} from './captured.js';
import {startRelay, type Relay} from './relay.js';
import {until} from './wait.js';

const hasEngine = requireEngine();

/** Waits for `condition` to hold, up to `ms`. */

/** Every entry below dir by lstat, never following a link: content, mode, owner and mtime. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel))) {
      const p = path.join(rel, name);
      const st = fs.lstatSync(path.join(dir, p));
      const meta = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}`;
      if (st.isDirectory()) {
        out[p] = `dir ${meta}`;
        walk(p);
      } else out[p] = `${meta} ${st.isSymbolicLink() ? `-> ${fs.readlinkSync(path.join(dir, p))}` : fs.readFileSync(path.join(dir, p), 'utf8')}`;
    }
  };
  walk('');
  return out;
}

interface Run {
  readonly child: ChildProcess;
  readonly done: Promise<{status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}>;
}

/** Every dbox this file started and that has not ended: ended by afterAll, by pid. */
const children = new Set<ChildProcess>();

/** `dbox -c LINE` in the background, with the umask `umask` when given. Never spawnSync: the
 *  relay and the hostile engine live in this process and must go on answering. */
function start(line: string, options: {env?: NodeJS.ProcessEnv; umask?: string} = {}): Run {
  const argv = [dboxPath, '-c', line];
  const child = options.umask === undefined
    ? spawn(process.execPath, argv, {env: {...process.env, NO_COLOR: '1', ...options.env}, stdio: ['ignore', 'pipe', 'pipe']})
    : spawn('sh', ['-c', `umask ${options.umask} && exec "$0" "$@"`, process.execPath, ...argv],
      {env: {...process.env, NO_COLOR: '1', ...options.env}, stdio: ['ignore', 'pipe', 'pipe']});
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}>((resolve) =>
    child.on('close', (status, signal) => resolve({status, signal, stdout, stderr})));
  return {child, done};
}

/** `dbox -c LINE` to its end. */
const run = (line: string, options: {env?: NodeJS.ProcessEnv; umask?: string} = {}): Promise<{status: number | null; stdout: string; stderr: string}> =>
  start(line, options).done;

/** Whether process `pid` holds the file `file` open (the same inode): how the test knows a
 *  reader waits on a FIFO without opening it itself (a writer that comes and goes is an EOF). */
function holds(pid: number, file: string): boolean {
  const want = fs.statSync(file);
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const st = fs.statSync(`/proc/${pid}/fd/${fd}`);
        return st.ino === want.ino && st.dev === want.dev;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

const modeOf = (p: string): string => (fs.lstatSync(p).mode & 0o7777).toString(8);
const rootOf = (name: string): string => `/proc/${docker('inspect', '-f', '{{.State.Pid}}', name)}/root`;

describe.runIf(hasEngine)('copy safety', () => {
  let fixture: Fixture;
  let c: string; // running: the local driver
  let stopped: string; // stopped: the engine driver
  let relay: Relay;
  let viaEngine: NodeJS.ProcessEnv; // running containers through the engine driver (the agent told off)
  let viaAgent: NodeJS.ProcessEnv; // the same engine as a remote one: running containers through the agent
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-copy-safety-'));
  const canary = path.join(work, 'canary');
  let canaryBefore: Record<string, string>;

  beforeAll(async () => {
    fs.mkdirSync(path.join(canary, 'dir'), {recursive: true});
    fs.writeFileSync(path.join(canary, 'secret.txt'), 'HOST SECRET\n');
    fs.chmodSync(path.join(canary, 'secret.txt'), 0o600);
    canaryBefore = snapshot(canary);
    fixture = makeFixture('copysafe', {
      'data/plain.txt': 'plain\n',
      'data/sub/inner.txt': 'inner\n',
      // A path that, inside the container, is where a hostile name climbing out of /data lands.
      [`${work.slice(1)}/escaped.txt`]: 'from the container\n',
    });
    // Special files, set-id bits and odd names, made by the container itself (as an attacker
    // would), in a running container and in one then stopped.
    const prepare = (name: string, badName: boolean): void => {
      docker('exec', name, 'sh', '-c', [
        'mknod /data/kmsg c 1 11', 'mkfifo /data/fifo',
        'printf suid > /data/suid && chmod 4755 /data/suid', 'printf sgid > /data/sgid && chmod 2755 /data/sgid',
        'printf both > /data/both && chmod 6750 /data/both', 'printf priv > /data/priv && chmod 0640 /data/priv',
        'mkdir -m 2775 /data/sgid-dir && mkdir -m 1777 /data/sticky-dir',
        ...(badName ? ["printf 'not utf-8' > \"/data/bad-$(printf '\\377\\376')-name\""] : []),
      ].join(' && '));
    };
    c = fixture.run('c');
    prepare(c, true);
    // The engine's API carries only UTF-8 names: this one is kept for the local driver.
    stopped = fixture.run('stopped');
    prepare(stopped, false);
    docker('stop', '-t', '0', stopped);
    relay = await startRelay();
    viaEngine = {DOCKER_HOST: relay.address, DBOX_AGENT: '0'};
    viaAgent = {DOCKER_HOST: relay.address};
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    fixture?.cleanup();
    await relay?.close();
    fs.rmSync(work, {recursive: true, force: true});
  });

  const fresh = (label: string): string => fs.mkdtempSync(path.join(work, `${label}-`));
  const canaryIntact = (): void => {
    expect(snapshot(canary)).toEqual(canaryBefore);
  };

  describe('names are one path component', () => {
    let liar: Fixture;
    let name: string;
    beforeAll(() => {
      // Its `sh` answers the engine driver's listing (`sh -c 'stat … *'`) with names that climb
      // out of the copy. (Its busybox runs applets before files, so the shell itself is replaced.)
      const climb = `../../../../../../../../..${work}/escaped.txt`;
      liar = makeFixture('liar', {
        'data/real.txt': 'real\n',
        [`${work.slice(1)}/escaped.txt`]: 'from the container\n',
      });
      name = liar.run('liar');
      const lines = [climb, '/abs', 'a/b', '..', '.', 'real.txt'].map((n) => `81a4 1 0 0 19 0 ${n}`).join('\\n');
      docker('exec', name, 'busybox', 'sh', '-c', `rm /bin/sh && printf '%s\\n' '#!/bin/busybox sh' "printf '${lines}\\n'" > /bin/sh && chmod 755 /bin/sh`);
      expect(docker('exec', name, 'sh', '-c', 'anything')).toContain(climb);
    });
    afterAll(() => liar?.cleanup());

    it('a listing forged by the container cannot make cp -r write outside its destination', async () => {
      const dest = path.join(fresh('liar'), 'out');
      const r = await run(`cp -r /containers/${name}/data ${dest}`, {env: viaEngine});
      // Not believed, never silently: the user is told, and the status says something was wrong.
      expect(r.stderr).toBe(`cp: /containers/${name}/data: the container's own listing was refused: it named ` +
        `'${`../../../../../../../../..${work}/escaped.txt`}', which is not one file name; the engine's archive was listed instead\n`);
      expect(r.status).toBe(1);
      expect(fs.existsSync(path.join(work, 'escaped.txt'))).toBe(false);
      // The archive's own listing is used instead of the forged one: the copy is what the container holds.
      expect(snapshot(dest)).toEqual({'real.txt': expect.stringMatching(/ real\n$/)});
      canaryIntact();
    });

    it('ls shows the real entries, not the forged ones, and says the listing was refused', async () => {
      const r = await run(`ls /containers/${name}/data`, {env: viaEngine});
      expect(r.stdout).toBe('real.txt\n');
      expect(r.stderr).toMatch(new RegExp(`^ls: /containers/${name}/data: the container's own listing was refused: it named '.*escaped\\.txt', which is not one file name; the engine's archive was listed instead\n$`));
      expect(r.status).toBe(1);
    });
  });

  describe('a hostile engine', () => {
    // A fake engine on a unix socket: its container is "stopped", so everything goes through its
    // archive API, and its tar of /data holds every breakout of moby's pkg/archive tests.
    let server: http.Server;
    let env: NodeJS.ProcessEnv;
    const id = 'e'.repeat(64);
    const target = path.join(work, 'engine-target');
    const files: Record<string, string> = {'/data/ok.txt': 'ok\n', '/data/hard': 'hard\n'};

    async function hostileTar(): Promise<Buffer> {
      const pack = tar.pack();
      const add = (h: Partial<tar.Header> & {name: string}, body = ''): void => {
        pack.entry({mode: 0o644, mtime: new Date(0), ...h, size: Buffer.byteLength(body)} as tar.Header, body);
      };
      add({name: 'data/', type: 'directory', mode: 0o755});
      add({name: 'data/ok.txt'}, 'ok\n');
      add({name: '../../../../../../../..' + target + '/dotdot.txt'}, 'pwned\n');
      add({name: target + '/absolute.txt'}, 'pwned\n');
      add({name: 'data/../../../../../../../..' + target + '/inner-dotdot.txt'}, 'pwned\n');
      add({name: 'data//empty.txt'}, 'pwned\n');
      add({name: 'data/./dot.txt'}, 'pwned\n');
      add({name: 'elsewhere/x.txt'}, 'pwned\n');
      add({name: 'data/link', type: 'symlink', linkname: target});
      add({name: 'data/link/through.txt'}, 'pwned\n');
      add({name: 'data/hard', type: 'link', linkname: '../../../../../../etc/passwd'});
      pack.finalize();
      const chunks: Buffer[] = [];
      for await (const chunk of pack) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    }

    const pathStat = (p: string): string | undefined => {
      const dirs = ['/', '/data'];
      const mode = dirs.includes(p) ? 2 ** 31 + 0o755 : p === '/data/link' ? 2 ** 27 + 0o777 : files[p] ? 0o644 : undefined;
      if (mode === undefined) return undefined;
      return Buffer.from(JSON.stringify({name: path.basename(p), size: files[p]?.length ?? 0, mode,
        mtime: '2024-01-01T00:00:00Z', linkTarget: p === '/data/link' ? target : ''})).toString('base64');
    };

    beforeAll(async () => {
      fs.mkdirSync(target);
      const tarball = await hostileTar();
      const socket = path.join(work, 'hostile.sock');
      server = http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        const route = url.pathname.replace(/^\/v[0-9.]+/, '');
        const json = (body: unknown): void => {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify(body));
        };
        if (route === '/_ping') return void res.end('OK');
        if (route === '/version') return json({Version: '99.0', ApiVersion: '1.43', Components: [{Name: 'Engine'}]});
        if (route === '/containers/json') {
          return json([{Id: id, Names: ['/evil'], Image: 'evil', State: 'exited', Status: 'Exited', Created: 0}]);
        }
        if (route === `/containers/${id}/json`) {
          return json({Id: id, Name: '/evil', State: {Status: 'exited', Running: false, Pid: 0}, Config: {Image: 'evil'}});
        }
        if (route === `/containers/${id}/archive`) {
          const p = url.searchParams.get('path') ?? '/';
          const stat = pathStat(p.replace(/\/+$/, '') || '/');
          if (!stat) {
            res.statusCode = 404;
            return json({message: 'no such file'});
          }
          res.setHeader('X-Docker-Container-Path-Stat', stat);
          if (req.method === 'HEAD') return void res.end();
          res.setHeader('Content-Type', 'application/x-tar');
          if (p === '/data') return void res.end(tarball);
          const one = tar.pack();
          // A link's own archive holds the link, as Docker's does (dbox reads a link's target from it).
          if (p === '/data/link') one.entry({name: 'link', type: 'symlink', linkname: target});
          else one.entry({name: path.basename(p), size: Buffer.byteLength(files[p] ?? ''), mode: 0o644}, files[p] ?? '');
          one.finalize();
          return void one.pipe(res);
        }
        res.statusCode = 404;
        json({message: `not here: ${route}`});
      });
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      env = {DOCKER_HOST: `unix://${socket}`};
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    });

    it('tar entries that escape, are absolute, climb, or go through a link are never written', async () => {
      const dest = path.join(fresh('tar'), 'out');
      const r = await run(`cp -r /containers/evil/data ${dest}`, {env});
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(fs.readdirSync(target)).toEqual([]);
      expect(fs.readdirSync(dest).sort()).toEqual(['hard', 'link', 'ok.txt']);
      expect(fs.readFileSync(path.join(dest, 'ok.txt'), 'utf8')).toBe('ok\n');
      // The hard link is the file of that name in the container, fetched by its own path.
      expect(fs.readFileSync(path.join(dest, 'hard'), 'utf8')).toBe('hard\n');
      // The link is copied as a link (verbatim, as cp -a and tar do); nothing went through it.
      expect(fs.readlinkSync(path.join(dest, 'link'))).toBe(target);
      expect((await run('ls /containers/evil/data', {env})).stdout).toBe('hard\nlink\nok.txt\n');
      canaryIntact();
    });
  });

  describe('modes', () => {
    /** The modes GNU cp gives copies of host files with the same modes as the container's. */
    function gnuModes(mask: string, flags: string): Record<string, string> {
      const src = fresh('gnu-src');
      for (const [n, m] of [['suid', 0o4755], ['sgid', 0o2755], ['both', 0o6750], ['priv', 0o640]] as const) {
        fs.writeFileSync(path.join(src, n), n);
        fs.chmodSync(path.join(src, n), m);
      }
      const dst = fresh('gnu-dst');
      execFileSync('sh', ['-c', `umask ${mask} && /bin/cp ${flags} suid sgid both priv '${dst}'`], {cwd: src});
      return Object.fromEntries(['suid', 'sgid', 'both', 'priv'].map((n) => [n, modeOf(path.join(dst, n))]));
    }

    for (const [driver, envOf] of [['local', () => ({})], ['engine', () => viaEngine]] as const) {
      for (const mask of ['022', '027']) {
        it(`plain cp from a container (${driver} driver, umask ${mask}) gives the modes GNU cp gives: no set-id bits`, async () => {
          const dst = fresh('plain');
          const from = ['suid', 'sgid', 'both', 'priv'].map((n) => `/containers/${c}/data/${n}`).join(' ');
          const r = await run(`cp ${from} ${dst}`, {umask: mask, env: envOf()});
          expect(r.stderr).toBe('');
          const got = Object.fromEntries(['suid', 'sgid', 'both', 'priv'].map((n) => [n, modeOf(path.join(dst, n))]));
          expect(got).toEqual(gnuModes(mask, ''));
          expect(got['suid']).toBe(mask === '022' ? '755' : '750');
        });
      }
    }

    it('cp -p and cp -a from a container to the host drop set-id bits (files and directories)', async () => {
      for (const [flags, env] of [['-p', {}], ['-a', {}], ['-p', viaEngine]] as const) {
        const dst = fresh('preserve');
        const r = await run(`cp ${flags} /containers/${c}/data/suid /containers/${c}/data/both ${dst}`, {env});
        expect(r.stderr).toBe('');
        expect([modeOf(path.join(dst, 'suid')), modeOf(path.join(dst, 'both'))]).toEqual(['755', '750']);
      }
      const tree = path.join(fresh('tree'), 'data');
      expect((await run(`cp -a /containers/${c}/data ${tree}`)).status).toBe(1); // the device node is left out
      expect([modeOf(path.join(tree, 'suid')), modeOf(path.join(tree, 'sgid-dir')), modeOf(path.join(tree, 'sticky-dir'))])
        .toEqual(['755', '775', '1777']);
    });

    it('between containers -a keeps set-id bits; from the host into a container -p keeps them, as GNU cp', async () => {
      expect((await run(`cp -a /containers/${c}/data/suid /containers/${c}/data/sgid-dir /containers/${c}/tmp/`)).status).toBe(0);
      expect(docker('exec', c, 'stat', '-c', '%a', '/tmp/suid', '/tmp/sgid-dir')).toBe('4755\n2775');
      const host = path.join(fresh('host-suid'), 'tool');
      fs.writeFileSync(host, '#!/bin/sh\n');
      fs.chmodSync(host, 0o4755);
      expect((await run(`cp -p ${host} /containers/${c}/tmp/tool-p && cp ${host} /containers/${c}/tmp/tool`)).status).toBe(0);
      expect(docker('exec', c, 'stat', '-c', '%a', '/tmp/tool-p', '/tmp/tool')).toBe('4755\n755');
      docker('exec', c, 'rm', '-rf', '/tmp/suid', '/tmp/sgid-dir', '/tmp/tool-p', '/tmp/tool');
    });
  });

  describe('device nodes and FIFOs', () => {
    it('cat of a device node in a container refuses it without opening it (local and engine drivers)', async () => {
      for (const [where, env] of [[c, {}], [c, viaEngine], [c, viaAgent], [stopped, {}]] as const) {
        const r = await run(`cat /containers/${where}/data/kmsg`, {env});
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`cat: /containers/${where}/data/kmsg: Operation not permitted (a character device in a container: only regular files are opened)\n`);
        expect(r.status).toBe(1);
      }
    });

    it('cp of a device node or a FIFO from a container refuses to read it', async () => {
      const dst = fresh('cp-dev');
      for (const what of ['kmsg', 'fifo']) {
        const r = await run(`cp /containers/${c}/data/${what} ${dst}/${what}`);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`^cp: cannot copy '/containers/${c}/data/${what}' to '.*': Operation not permitted \\(a (character device|fifo) in a container: only regular files are opened\\)\n$`));
      }
      expect(fs.readdirSync(dst)).toEqual([]);
    });

    it('cat of a container FIFO reads what is written, and ends on SIGINT or SIGTERM while it waits', async () => {
      const fifo = `${rootOf(c)}/data/fifo`;
      const reader = start(`cat /containers/${c}/data/fifo`);
      await until('cat to open the FIFO', () => holds(reader.child.pid!, fifo));
      fs.writeFileSync(fifo, 'through the fifo\n');
      expect(await reader.done).toMatchObject({status: 0, stdout: 'through the fifo\n', stderr: ''});
      for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
        const waiting = start(`cat /containers/${c}/data/fifo`);
        await until('cat to open the FIFO', () => holds(waiting.child.pid!, fifo));
        // The FIFO now has a reader and no writer: cat waits. The signal must end it at once.
        const sent = Date.now();
        waiting.child.kill(signal);
        // As `bash -c 'cat FIFO'` ends: by that signal (dbox dies by it after its bash), or with 128+n.
        const r = await waiting.done;
        expect(r.stdout).toBe('');
        expect(r.signal === signal || r.status === status, `status ${r.status}, signal ${r.signal}`).toBe(true);
        expect(Date.now() - sent).toBeLessThan(5_000);
      }
      // A host FIFO is read as GNU cat reads it (it waits for a writer), and SIGTERM ends that too.
      const hostFifo = path.join(fresh('host-fifo'), 'fifo');
      execFileSync('mkfifo', [hostFifo]);
      const host = start(`cat ${hostFifo}`);
      await until('cat to open the host FIFO', () => holds(host.child.pid!, hostFifo));
      host.child.kill('SIGTERM');
      const h = await host.done;
      expect(h.stdout).toBe('');
      expect(h.signal === 'SIGTERM' || h.status === 143, `status ${h.status}, signal ${h.signal}`).toBe(true);
    });

    it('a FIFO read as a stream (no fd to copy to) ends on a cancel, with what was written', async () => {
      const local = LocalFs.open(rootOf(c));
      try {
        const chunks: Buffer[] = [];
        const out = new Writable({write(chunk: Buffer, _e, done) {
          chunks.push(chunk);
          done();
        }});
        const progress = new Progress();
        const sending = sendFile({fs: local, path: '/data/fifo'}, {stream: out}, progress);
        await until('the FIFO to be open', () => holds(process.pid, `${rootOf(c)}/data/fifo`));
        const writer = fs.openSync(`${rootOf(c)}/data/fifo`, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        fs.writeSync(writer, 'first\n');
        await until('the bytes', () => Buffer.concat(chunks).toString() === 'first\n');
        // The writer stays: only the cancel can end the read.
        progress.cancel();
        await expect(sending).rejects.toMatchObject({code: 'ECANCELED'});
        fs.closeSync(writer);
      } finally {
        local.close();
      }
    });

    it('cp -r from a container leaves device nodes out (status 1, said), makes FIFOs, and --devices makes them', async () => {
      for (const [where, env] of [[c, {}], [stopped, {}]] as const) {
        const dst = path.join(fresh('cp-r-dev'), 'data');
        const r = await run(`cp -r /containers/${where}/data ${dst}`, {env});
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`cp: omitting character device '/containers/${where}/data/kmsg' (a device node from a container; --devices copies it)\n`);
        expect(fs.existsSync(path.join(dst, 'kmsg'))).toBe(false);
        expect(fs.readFileSync(path.join(dst, 'plain.txt'), 'utf8')).toBe('plain\n');
        if (where === c) expect(fs.lstatSync(path.join(dst, 'fifo')).isFIFO()).toBe(true);
      }
      const dst = path.join(fresh('cp-r-devices'), 'data');
      const r = await run(`cp -r --devices /containers/${c}/data ${dst}`);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const st = fs.lstatSync(path.join(dst, 'kmsg'));
      expect(st.isCharacterDevice() && st.rdev).toBe(fs.statSync('/dev/kmsg').rdev);
      fs.rmSync(path.join(dst, 'kmsg'));
    });
  });

  describe('destination symlinks', () => {
    it('a later copy from a container replaces a link an earlier one planted, never writes through it', async () => {
      const parent = fresh('planted');
      const victim = path.join(canary, 'secret.txt');
      docker('exec', c, 'sh', '-c', `mkdir -p /plant/d && ln -s ${victim} /plant/evil && ln -s ${canary}/dir /plant/evil-dir`);
      expect((await run(`cp -r /containers/${c}/plant ${parent}/`)).status).toBe(0);
      expect(fs.readlinkSync(path.join(parent, 'plant/evil'))).toBe(victim);
      // The container turns its links into a file and a directory, and the user copies again.
      docker('exec', c, 'sh', '-c', 'rm /plant/evil /plant/evil-dir && printf pwned > /plant/evil && mkdir /plant/evil-dir && printf pwned > /plant/evil-dir/x');
      const again = await run(`cp -r /containers/${c}/plant ${parent}/`);
      expect(again.stderr).toMatch(/cannot overwrite non-directory with directory/);
      expect(fs.readFileSync(path.join(parent, 'plant/evil'), 'utf8')).toBe('pwned');
      expect(fs.lstatSync(path.join(parent, 'plant/evil-dir')).isSymbolicLink()).toBe(true);
      // A single file onto the link: the link is replaced.
      fs.rmSync(path.join(parent, 'plant/evil'));
      fs.symlinkSync(victim, path.join(parent, 'plant/evil'));
      expect((await run(`cp /containers/${c}/plant/evil ${parent}/plant/evil`)).status).toBe(0);
      expect(fs.lstatSync(path.join(parent, 'plant/evil')).isFile()).toBe(true);
      canaryIntact();
      docker('exec', c, 'rm', '-rf', '/plant');
    });

    it('from the host, a copy onto a link writes its target, as GNU cp does', async () => {
      const dir = fresh('host-link');
      fs.writeFileSync(path.join(dir, 'target'), 'old\n');
      fs.symlinkSync('target', path.join(dir, 'link'));
      fs.writeFileSync(path.join(dir, 'src'), 'new\n');
      expect((await run(`cp ${dir}/src ${dir}/link`)).status).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'target'), 'utf8')).toBe('new\n');
      expect(fs.lstatSync(path.join(dir, 'link')).isSymbolicLink()).toBe(true);
    });
  });

  describe('hostile sizes', () => {
    /** What `find` sees below `dir` (GNU find walks any depth): each entry's name, and the depth. */
    function below(dir: string): {names: Set<string>; depth: number} {
      const lines = execFileSync('find', [dir, '-mindepth', '1', '-printf', '%d %f\\n'], {maxBuffer: 1 << 26}).toString().split('\n').filter(Boolean);
      const names = new Set<string>();
      let depth = 0;
      for (const line of lines) {
        const [d, name] = [Number(line.slice(0, line.indexOf(' '))), line.slice(line.indexOf(' ') + 1)];
        names.add(name);
        depth = Math.max(depth, d);
      }
      return {names, depth};
    }

    it('a 10,000-level tree: cp -r copies what a path can name and says File name too long for the rest, as GNU cp; so does ls -R', async () => {
      chain(rootOf(c), '/deep', 10_000, 'd');
      docker('exec', c, 'touch', '/deep/beside');
      const parent = fresh('deep');
      const r = await run(`cp -r /containers/${c}/deep ${parent}/deep`);
      // One message, for the first entry too deep (GNU: "cannot stat ...: File name too long").
      expect(r.stderr).toMatch(new RegExp(`^cp: cannot copy '/containers/${c}/deep(/d)+' to '${parent}/deep(/d)+': File name too long\\n$`));
      expect(r.status).toBe(1);
      // A hostile depth does not keep the rest from the copy: the chain down to PATH_MAX, the file
      // beside it, and nothing else (no temporary left at any level).
      expect(fs.readdirSync(parent)).toEqual(['deep']);
      expect(fs.existsSync(path.join(parent, 'deep/beside'))).toBe(true);
      const {names, depth} = below(parent);
      expect([...names].sort()).toEqual(['beside', 'd', 'deep']);
      expect(depth).toBeGreaterThan(1_000);
      expect(depth).toBeLessThan(2_100);
      execFileSync('rm', ['-rf', parent]); // GNU rm removes any depth (fs.rmSync stops at PATH_MAX)
      const ls = await run(`ls -R /containers/${c}/deep`);
      expect(ls.stderr).toMatch(/: File name too long\n$/);
      expect(ls.stderr).not.toMatch(/internal error/);
      expect(ls.status).not.toBe(0);
    }, 120_000);

    it('through the engine driver too (names long enough to pass PATH_MAX in a few levels)', async () => {
      chain(rootOf(c), '/deep-long', 40, 'n'.repeat(250));
      const parent = fresh('deep-engine');
      const r = await run(`cp -r /containers/${c}/deep-long ${parent}/deep`, {env: viaEngine});
      // The engine meets the limit first, with its rootfs' path before the container's: it says
      // no more than a 500 to a HEAD; or this host's PATH_MAX is met first. Either is one entry's
      // error: the copy names it and keeps what it could copy above it, as GNU cp goes on.
      expect(r.stderr).toMatch(/^cp: cannot copy .*: (File name too long|Input\/output error \(the engine answered 500\))\n$/);
      expect(r.status).toBe(1);
      // Only the chain of directories it could copy: nothing hidden (no temporary) at any level.
      expect(fs.readdirSync(parent)).toEqual(['deep']);
      const {names, depth} = below(path.join(parent, 'deep'));
      expect([...names]).toEqual(['n'.repeat(250)]);
      expect(depth).toBeGreaterThan(5);
      execFileSync('rm', ['-rf', parent]);
    }, 120_000);

    it('a 200,000-entry directory lists (both drivers) and copies (native and through the interface)', async () => {
      const root = rootOf(c);
      const lap = ((t0) => (what: string): void => {
        console.log(`200,000 entries: ${what} at ${Date.now() - t0} ms`);
      })(Date.now());
      fs.mkdirSync(`${root}/wide`);
      for (let i = 0; i < 200_000; i++) fs.writeFileSync(`${root}/wide/f${i}`, '');
      lap('made');
      const parent = fresh('wide');
      const r = await run(`cp -r /containers/${c}/wide ${parent}/native`);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(fs.readdirSync(path.join(parent, 'native')).length).toBe(200_000);
      lap('native copy');
      const local = LocalFs.open(root);
      try {
        expect((await local.readdir('/wide')).length).toBe(200_000);
        const id = docker('inspect', '-f', '{{.Id}}', c);
        expect((await new EngineFs(new Engine(), id, true).readdir('/wide')).length).toBe(200_000);
        lap('engine listing by exec');
        expect((await new EngineFs(new Engine(), id, false).readdir('/wide')).length).toBe(200_000);
        lap('engine listing by archive');
        // Real filesystems behind a proxy that is no LocalFs: the copy takes the interface's path.
        const opaque = (f: ContainerFs): ContainerFs => new Proxy(f, {getPrototypeOf: () => Object.prototype});
        await copyEntry({fs: opaque(local), path: '/wide'}, {fs: opaque(LocalFs.host()), path: path.join(parent, 'interface')},
          {preserve: false, progress: new Progress()});
        expect(fs.readdirSync(path.join(parent, 'interface')).length).toBe(200_000);
        lap('interface copy');
      } finally {
        local.close();
        fs.rmSync(parent, {recursive: true, force: true});
        fs.rmSync(`${root}/wide`, {recursive: true, force: true});
      }
    }, 600_000);
  });

  describe('copies into a stopped container', () => {
    let src: string;
    beforeAll(() => {
      src = path.join(fresh('upload'), 'big');
      fs.writeFileSync(src, Buffer.alloc(8 << 20, 'n'));
    });
    // Asked without blocking this process: the relay lives here, and the engine holds the
    // container while the cut upload is open; only the relay can pass its end on.
    const sh = async (script: string): Promise<string> => (await runCaptured('sh', ['-c', script], {cwd: '/', env: process.env})).stdout;
    const dataListing = async (): Promise<string[]> => (await sh(`docker cp ${stopped}:/data - | tar -t`)).split('\n');
    const plain = (): Promise<string> => sh(`docker cp ${stopped}:/data/plain.txt - | tar -xO`);

    it('a kill -9 during the upload leaves the old file whole', async () => {
      const held = relay.holdNextUpload(256 << 10);
      const copy = start(`cp ${src} /containers/${stopped}/data/plain.txt`, {env: viaEngine});
      await held;
      copy.child.kill('SIGKILL');
      await copy.done;
      relay.release();
      expect(await plain()).toBe('plain\n');
      // The temporary may remain (a stopped container cannot be listed cheaply): it never
      // stands in the file's place.
      expect((await dataListing()).filter((n) => /dbox-/.test(n)).every((n) => /^data\/\.plain\.txt\.dbox-[0-9a-f]{4}-\d+-[0-9a-z]{6}$/.test(n))).toBe(true);
    });

    it('SIGINT during the upload stops it: dbox ends by SIGINT as bash -c does, the old file whole, no temporary', async () => {
      const before = (await dataListing()).filter((n) => /dbox-/.test(n));
      const held = relay.holdNextUpload(256 << 10);
      const copy = start(`cp ${src} /containers/${stopped}/data/plain.txt`, {env: viaEngine});
      await held;
      copy.child.kill('SIGINT');
      // What the relay holds reaches the engine after the interrupt: dbox must wait for the
      // engine's answer to the cut upload before it removes the temporary.
      relay.release();
      const r = await copy.done;
      expect(r).toMatchObject({status: null, signal: 'SIGINT', stderr: `cp: interrupted; '/containers/${stopped}/data/plain.txt' was left as it was\n`});
      expect(await plain()).toBe('plain\n');
      expect((await dataListing()).filter((n) => /dbox-/.test(n))).toEqual(before);
    });

    it('an upload that completes replaces the file', async () => {
      const small = path.join(fresh('upload-ok'), 'plain.txt');
      fs.writeFileSync(small, 'replaced\n');
      expect((await run(`cp ${small} /containers/${stopped}/data/plain.txt`, {env: viaEngine})).status).toBe(0);
      expect(await plain()).toBe('replaced\n');
      expect((await run(`cp /containers/${c}/data/plain.txt /containers/${stopped}/data/plain.txt`)).status).toBe(0);
      expect(await plain()).toBe('plain\n');
    });
  });

  describe('temporaries', () => {
    it('a temporary left by a kill -9 is swept by the next copy into that directory, which says so; a live one is kept', async () => {
      // The source is a host FIFO the test holds open: the copy waits in the middle, its
      // temporary in place, for as long as the test wants.
      const dir = fresh('sweep');
      const fifo = path.join(dir, 'slow');
      execFileSync('mkfifo', [fifo]);
      docker('exec', c, 'sh', '-c', 'mkdir -p /sweep');
      const copy = start(`cp ${fifo} /containers/${c}/sweep/file`);
      await until('cp to open the FIFO', () => holds(copy.child.pid!, fifo));
      const writer = fs.openSync(fifo, 'w');
      fs.writeSync(writer, 'partial');
      const temps = (): string[] => fs.readdirSync(`${rootOf(c)}/sweep`).filter((n) => n.includes('.dbox-'));
      await until('the temporary', () => temps().length === 1);
      copy.child.kill('SIGKILL');
      await copy.done;
      fs.closeSync(writer);
      const left = temps();
      expect(left).toEqual([expect.stringMatching(new RegExp(`^\\.file\\.dbox-[0-9a-f]{4}-${copy.child.pid}-[0-9a-z]{6}$`))]);
      // A temporary whose owner lives (this test process) is not touched.
      const ours = left[0]!.replace(`-${copy.child.pid}-`, `-${process.pid}-`);
      fs.writeFileSync(`${rootOf(c)}/sweep/${ours}`, '');
      // Nor is one of another user (anyone can make such a name in a shared directory), though
      // its process is gone as much as the copy's.
      const theirs = left[0]!.replace(/-[0-9a-z]{6}$/, '-theirs');
      fs.writeFileSync(`${rootOf(c)}/sweep/${theirs}`, 'precious\n');
      fs.chownSync(`${rootOf(c)}/sweep/${theirs}`, 1000, 1000);
      const other = path.join(dir, 'other');
      fs.writeFileSync(other, 'other\n');
      // Said first (a large tree takes long to remove), named as the destination is.
      expect(await run(`cp ${other} /containers/${c}/sweep/`)).toMatchObject({status: 0,
        stderr: `cp: removing '/containers/${c}/sweep/${left[0]}', left by a copy that was killed\n`});
      expect(temps().sort()).toEqual([ours, theirs].sort());
      docker('exec', c, 'rm', '-rf', '/sweep');
    });
  });

  describe('names that are not UTF-8', () => {
    it('copy out of a container and back, byte for byte, and ls reaches them', async () => {
      const bad = Buffer.from([0x62, 0x61, 0x64, 0x2d, 0xff, 0xfe, 0x2d, 0x6e, 0x61, 0x6d, 0x65]); // bad-\xff\xfe-name
      const out = path.join(fresh('utf8'), 'data');
      const r = await run(`cp -r /containers/${c}/data ${out}`);
      expect(r.status).toBe(1); // the device node is left out
      const names = fs.readdirSync(out, {encoding: 'buffer'});
      const found = names.find((n) => n.equals(bad));
      expect(found).toBeDefined();
      expect(fs.readFileSync(Buffer.concat([Buffer.from(out + '/'), bad])).toString()).toBe('not utf-8');
      fs.rmSync(path.join(out, 'fifo'));
      expect((await run(`cp -r ${out} /containers/${c}/back`)).status).toBe(0);
      const back = fs.readdirSync(`${rootOf(c)}/back`, {encoding: 'buffer'});
      expect(back.some((n) => n.equals(bad))).toBe(true);
      expect((await run(`ls /containers/${c}/data`)).stdout).toMatch(/bad-.*-name/);
      docker('exec', c, 'rm', '-rf', '/back');
    });

    it('through the engine (a stopped container): listed, read, copied out and back in, byte for byte', async () => {
      const bad = Buffer.from([0x62, 0x61, 0x64, 0x2d, 0xff, 0xfe, 0x2d, 0x6e, 0x61, 0x6d, 0x65]); // bad-\xff\xfe-name
      const s = fixture.run('utf8-stopped');
      docker('exec', s, 'sh', '-c', "mkdir /data/d && printf 'not utf-8' > \"/data/d/bad-$(printf '\\377\\376')-name\"");
      docker('stop', '-t', '0', s);
      const inContainer = (p: string): Buffer => execFileSync('sh', ['-c', `docker cp '${s}:${p}' - | tar --quoting-style=literal -tf -`]);
      const shell = 'bad-*-name'; // a glob: the line's $'\377' is a character, not a byte
      // ls prints it as GNU ls does to a pipe (raw); cat reaches it.
      const lsBytes = execFileSync(process.execPath, [dboxPath, '-c', `ls /containers/${s}/data/d`]);
      expect(lsBytes).toEqual(Buffer.concat([bad, Buffer.from('\n')]));
      const cat = await run(`cat /containers/${s}/data/d/${shell}`);
      expect(cat.stderr).toBe('');
      expect(cat.stdout).toBe('not utf-8');
      // Out to the host and back into the stopped container (a tree, then one file replacing itself through a temporary).
      const out = path.join(fresh('utf8-engine'), 'd');
      expect((await run(`cp -r /containers/${s}/data/d ${out}`)).status).toBe(0);
      expect(fs.readdirSync(out, {encoding: 'buffer'})).toEqual([bad]);
      expect(fs.readFileSync(Buffer.concat([Buffer.from(out + '/'), bad])).toString()).toBe('not utf-8');
      expect((await run(`cp -r ${out} /containers/${s}/back`)).status).toBe(0);
      expect(inContainer('/back')).toEqual(Buffer.concat([Buffer.from('back/\nback/'), bad, Buffer.from('\n')]));
      fs.writeFileSync(Buffer.concat([Buffer.from(out + '/'), bad]), 'replaced');
      expect((await run(`cp ${out}/${shell} /containers/${s}/data/d/`)).status).toBe(0);
      expect(inContainer('/data/d')).toEqual(Buffer.concat([Buffer.from('d/\nd/'), bad, Buffer.from('\n')]));
      expect(execFileSync('sh', ['-c', `docker cp '${s}:/data/d' - | tar -xOf -`]).toString()).toBe('replaced');
    });
  });
});
