// A terminal is an attack surface: hostile names in a real container, a hostile /etc/passwd, a
// fake hostile engine on a unix socket, and hostile sizes, through the built dbox in a real
// pseudo-terminal (script(1)). Each case asserts that no ESC, BEL, C1 or other control byte from a
// name reaches the terminal, and, where GNU ls 9.1 can list the same names on the host, that dbox
// prints the very same bytes.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {nameBytes} from '../../src/format/utf8.js';
import {hostileNames} from '../unit/hostile-names.js';
import {dbox, dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';
import {writeContext} from '../../harness/remote-engine.js';

const hasEngine = requireEngine();
const gnu = /GNU coreutils\) 9\./.test(spawnSync('/bin/ls', ['--version'], {encoding: 'utf8'}).stdout ?? '');
const env = {...process.env, LC_ALL: 'C.UTF-8', NO_COLOR: '1', COLUMNS: '100'};
delete (env as Record<string, string | undefined>)['QUOTING_STYLE'];

/** Runs `command` (a shell line; $LINE, $DBOX and $NODE come from the environment) on a 100-column pty. */
function onTerminal(command: string, vars: Record<string, string>, cwd = os.tmpdir()): Buffer {
  return execFileSync('script', ['-qfc', `stty -onlcr cols 100; ${command}`, '/dev/null'], {
    cwd, env: {...env, ...vars, DBOX: dboxPath, NODE: process.execPath}, maxBuffer: 1 << 28, timeout: 300_000,
  });
}
const dboxOnTerminal = (line: string, cwd?: string, extra: Record<string, string> = {}): Buffer =>
  onTerminal('exec "$NODE" "$DBOX" -c "$LINE"', {LINE: line, ...extra}, cwd);

/** dboxOnTerminal without blocking this process (which may be serving a fake engine meanwhile). */
function dboxOnTerminalAsync(line: string, extra: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfc', 'stty -onlcr cols 100; exec "$NODE" "$DBOX" -c "$LINE"', '/dev/null'], {
      env: {...env, ...extra, LINE: line, DBOX: dboxPath, NODE: process.execPath}, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** A control byte that is not the line feed, DEL, or a C1 control (UTF-8 C2 80..C2 9F). */
const rawControl = (b: Buffer): string | undefined => {
  const m = /[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]/.exec(b.toString('latin1'));
  return m ? JSON.stringify(b.toString('latin1').slice(Math.max(0, m.index - 30), m.index + 30)) : undefined;
};
/** The same, but our own colour sequences (SGR) are allowed. */
const rawControlButColour = (b: Buffer): string | undefined =>
  rawControl(Buffer.from(b.toString('latin1').replace(/\x1b\[[0-9;]*m/g, ''), 'latin1'));

/** busybox sh that creates each name of `names` (bytes) in DIR with `make` (touch, mkdir, ln -s T). */
function creationScript(dir: string, names: readonly Buffer[], make: (k: number) => string): string {
  const octal = (bytes: Buffer): string => [...bytes].map((x) => `\\${x.toString(8).padStart(3, '0')}`).join('');
  return [`mkdir -p ${dir} && cd ${dir} || exit 1`,
    ...names.map((b, k) => `n=$(printf '${octal(b)}x'); n="\${n%x}"; ${make(k)} || exit 1`)].join('\n');
}

const valid = hostileNames.filter((n) => !n.name.match(/[\udc80-\udcff]/) && !n.name.startsWith('.'));
const invalid = hostileNames.filter((n) => /[\udc80-\udcff]/.test(n.name));

describe.runIf(hasEngine && gnu)('hostile names on a terminal', () => {
  let fixture: Fixture;
  let c: string;
  let fifo: string;
  let host: string;

  beforeAll(() => {
    fixture = makeFixture('quoting', {
      // uid 1000's name retitles the window, gid 1000's clears the screen
      'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nevil\x1b]0;owned\x07:x:1000:1000::/data:/bin/sh\n',
      'etc/group': 'root:x:0:\n\x1b[2J\x1b[8m:x:1000:\n',
    });
    c = fixture.run('q');
    fifo = fixture.run('fifo');
    const all = hostileNames.map((n) => n.bytes);
    docker('exec', c, 'sh', '-c', creationScript('/data/h', valid.map((n) => n.bytes), () => 'touch -- "$n"'));
    docker('exec', c, 'sh', '-c', creationScript('/data/inv', invalid.map((n) => n.bytes), () => 'touch -- "$n"'));
    docker('exec', c, 'sh', '-c', creationScript('/data/links', all, (k) => `ln -s -- "$n" link${k} && chown -h 1000:1000 link${k}`));
    // A FIFO for /etc/passwd: reading it would block ls -l for ever.
    docker('exec', fifo, 'sh', '-c', 'rm /etc/passwd && busybox mkfifo /etc/passwd && touch /data/f');
    // The same names on the host, for GNU ls.
    host = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-quoting-'));
    for (const [dir, names] of [['h', valid], ['inv', invalid]] as const) {
      fs.mkdirSync(path.join(host, dir));
      for (const n of names) fs.writeFileSync(Buffer.concat([Buffer.from(path.join(host, dir) + '/'), n.bytes]), '');
    }
  }, 180_000);
  afterAll(() => {
    fixture?.cleanup();
    if (host) fs.rmSync(host, {recursive: true, force: true});
  });

  it.each([[''], ['-l'], ['-1'], ['-N'], ['-b'], ['-Q'], ['-q'], ['--quoting-style=shell-always'], ['-lN']])(
    'ls %s of hostile names prints what GNU ls prints on a terminal, and no control byte',
    (opts) => {
      const mine = dboxOnTerminal(`ls ${opts} /containers/${c}/data/h`);
      expect(rawControl(mine)).toBeUndefined();
      if (opts.includes('l')) {
        // owners, sizes and times differ from the host copy: compare the names column only
        const names = (b: Buffer): string[] => b.toString('utf8').split('\n').slice(1).map((l) => l.replace(/^(\S+\s+){8}/, ''));
        const theirs = onTerminal(`exec /bin/ls -T0 ${opts} h`, {}, host);
        expect(names(mine)).toEqual(names(theirs));
      } else {
        expect(mine.toString('utf8')).toBe(onTerminal(`exec /bin/ls -T0 ${opts} h`, {}, host).toString('utf8'));
      }
    });

  it('colours only with its own sequences', () => {
    const line = `ls -l /containers/${c}/data/links /containers/${c}/data/h; ls /containers/${c}/data/h`;
    const coloured = onTerminal('unset NO_COLOR; exec "$NODE" "$DBOX" -c "$LINE"', {LINE: line});
    expect(coloured.toString('latin1')).toMatch(/\x1b\[/);
    expect(rawControlButColour(coloured)).toBeUndefined();
  });

  it('ls -l quotes link targets and owner names from the container', () => {
    const out = dboxOnTerminal(`ls -l /containers/${c}/data/links`);
    expect(rawControl(out)).toBeUndefined();
    const text = out.toString('utf8');
    expect(text).toContain("'evil'$'\\033'']0;owned'$'\\a' ''$'\\033''[2J'$'\\033''[8m'");
    const k = hostileNames.findIndex((n) => n.label === 'clipboard (OSC 52)');
    expect(text).toContain(` link${k} -> ''$'\\033'']52;c;cm0gLXJmIH4K'$'\\a'\n`);
  });

  it('a FIFO for /etc/passwd does not block ls -l: owners show as numbers', () => {
    const r = dbox(`ls -l /containers/${fifo}/data`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^-rw-r--r-- 1 0 +root +0 .* f$/m);
  });

  it('invalid UTF-8 names never reach the terminal raw (and match GNU once the native layer keeps the bytes)', () => {
    const mine = dboxOnTerminal(`ls -1 /containers/${c}/data/inv`);
    expect(rawControl(mine)).toBeUndefined();
    const probe = dbox(`ls /containers/${c}/data/inv`);
    if (probe.stdout.includes('\ufffd')) return; // the native layer still decodes names lossily
    expect(mine.toString('latin1')).not.toMatch(/[\x80-\xff]/); // every invalid byte escaped: only ASCII
    expect(mine.toString('latin1')).toBe(onTerminal('exec /bin/ls -T0 -1 inv', {}, host).toString('latin1'));
  });

  it('to a pipe, names are written as GNU writes them: raw', () => {
    const r = spawnSync(process.execPath, [dboxPath, '-c', `ls /containers/${c}/data/h`], {env});
    const theirs = execFileSync('/bin/ls', ['h'], {cwd: host, env});
    expect(r.stdout.toString('latin1')).toBe(theirs.toString('latin1'));
    expect(r.stdout.toString('latin1')).toContain('\x1b]0;pwned\x07');
  });

  it('error messages quote names as GNU cat, ls and cp do', () => {
    const line = (cmd: string): string => `${cmd} /containers/${c}/data/h/nope$'\\033]0;x\\a'`;
    for (const [cmd, gnuCmd] of [['cat', 'cat'], ['ls', 'ls'], ['cp', 'cp']] as const) {
      const mine = spawnSync(process.execPath, [dboxPath, '-c', line(cmd) + (cmd === 'cp' ? ' /tmp/' : '')], {env});
      const theirs = spawnSync('bash', ['-c', `${gnuCmd} /containers/${c}/data/h/nope$'\\033]0;x\\a'${cmd === 'cp' ? ' /tmp/' : ''}`], {env});
      expect(rawControl(mine.stderr)).toBeUndefined();
      expect(mine.stderr.toString('utf8')).toBe(theirs.stderr.toString('utf8'));
    }
  });

  it("cp's own messages (omitting a directory, the same file, into itself, not a directory) quote names as GNU cp", () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-cp-msg-'));
    try {
      const d = `${base}/d$'\\033]0;x\\a'`;
      const f = `${base}/f$'\\033[2J'`;
      execFileSync('bash', ['-c', `mkdir ${d} && touch ${f} ${base}/g`]);
      for (const args of [`${d} ${base}/`, `${f} ${f}`, `-r ${d} ${d}/sub`, `${f} ${base}/g ${f}`, `${d}`]) {
        const mine = spawnSync(process.execPath, [dboxPath, '-c', `cp ${args}`], {env});
        const theirs = spawnSync('bash', ['-c', `cp ${args}`], {env});
        expect(rawControl(mine.stderr), args).toBeUndefined();
        expect(mine.stderr.toString('utf8').split('\n')[0], args).toBe(theirs.stderr.toString('utf8').split('\n')[0]);
        expect(mine.status, args).not.toBe(0);
      }
    } finally {
      fs.rmSync(base, {recursive: true, force: true});
    }
  });
});

/** A fake hostile engine on a unix socket: answers the container list with hostile JSON. */
function hostileEngine(socket: string, containers: unknown[]): net.Server {
  return net.createServer((conn) => {
    let request = '';
    conn.on('data', (d: Buffer) => {
      request += d.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      const known = request.startsWith('GET /containers/json');
      const body = Buffer.from(JSON.stringify(known ? containers : {message: 'no such thing'}));
      conn.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${known ? '200 OK' : '404 Not Found'}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
    });
    conn.on('error', () => undefined);
  }).listen(socket);
}

describe.runIf(spawnSync('script', ['--version']).status === 0)('a hostile engine', () => {
  let dir: string;
  let server: net.Server;
  let serial = 0;
  const evil = (name: string, extra: Record<string, unknown> = {}) => ({
    Id: `${String(++serial).repeat(12)}${'0'.repeat(52)}`, Names: [`/${name}`], Image: '\x1b]52;c;cm0K\x07', State: '\x07running',
    Status: 'Up', Created: 'soon', ...extra,
  });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-evil-engine-'));
    server = hostileEngine(path.join(dir, 'docker.sock'), [
      evil('\x1b]0;pwned\x07'), evil('\x1b[2J\x1b[Hclear'), evil('ok'), evil('\u009b8m'), evil('c\u0085', {Created: 1e300}),
    ]);
    await new Promise((r) => server.once('listening', r));
  });
  afterAll(() => {
    server?.close();
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  it('ls /hosts and ls -l /hosts quote context names and addresses', async () => {
    writeContext(dir, '\x1b]0;ctx\x07', 'tcp://127.0.0.1:1/\x1b[8m');
    for (const line of ['ls /hosts', 'ls -l /hosts']) {
      const out = await dboxOnTerminalAsync(line, {DOCKER_HOST: `unix://${path.join(dir, 'docker.sock')}`, HOME: dir});
      expect(rawControl(out)).toBeUndefined();
      expect(out.toString('utf8')).toContain("''$'\\033'']0;ctx'$'\\a'");
      if (line === 'ls -l /hosts') expect(out.toString('utf8')).toContain("'tcp://127.0.0.1:1/'$'\\033''[8m'");
    }
  });

  // Names outside Docker's grammar are shown by the container's short id (src/docker/validate.ts);
  // the rest of what the engine says is quoted.
  it.each([['ls /containers'], ['ls -l /containers'], ['ls -1 /containers']])('%s quotes what the engine says', async (line) => {
    const out = await dboxOnTerminalAsync(line, {DOCKER_HOST: `unix://${path.join(dir, 'docker.sock')}`, HOME: dir});
    expect(rawControl(out)).toBeUndefined();
    expect(out.toString('utf8')).not.toMatch(/internal error/);
    expect(out.toString('utf8')).not.toContain('pwned');
    expect(out.toString('utf8')).toContain('111111111111');
    if (line === 'ls -l /containers') expect(out.toString('utf8')).toMatch(/^unknown +''\$'\\033'']52;c;cm0K'\$'\\a' +333333333333 1970-01-01 00:00 +ok\r?$/m);
  });
});

describe.runIf(hasEngine)('hostile sizes', () => {
  let fixture: Fixture;
  let c: string;
  let top: string;
  let host: string;

  beforeAll(() => {
    fixture = makeFixture('sizes');
    c = fixture.run('big');
    // 200,000 entries, made inside the container with its own busybox.
    docker('exec', c, 'sh', '-c', 'mkdir /data/big && cd /data/big && busybox seq 1 200000 | busybox xargs touch');
    // A 10,000-level tree in the container and on the host, built by renames so that no path is
    // ever long (in the container's root as this root process sees it: a shell loop there would
    // start 30,000 processes).
    const deep = (dir: string, name: string): void => {
      fs.mkdirSync(path.join(dir, name));
      for (let i = 0; i < 10_000; i++) {
        fs.mkdirSync(path.join(dir, 't'));
        fs.renameSync(path.join(dir, name), path.join(dir, 't', 'a'));
        fs.renameSync(path.join(dir, 't'), path.join(dir, name));
      }
    };
    deep(`/proc/${docker('inspect', '-f', '{{.State.Pid}}', c)}/root/tmp`, 'a');
    top = host = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-deep-'));
    // an even length for host/deep (see the ls -R test below)
    if (path.join(host, 'deep').length % 2 !== 0) host = fs.mkdtempSync(path.join(host, 'x'));
    deep(host, 'deep');
  }, 300_000);
  afterAll(() => {
    fixture?.cleanup();
    if (top) spawnSync('rm', ['-rf', top]); // GNU rm walks any depth
  });

  it.each([['ls'], ['ls -l'], ['ls -1']])('%s of a 200,000-entry directory in a container', (cmd) => {
    const r = spawnSync(process.execPath, [dboxPath, '-c', `${cmd} /containers/${c}/data/big`], {env, maxBuffer: 1 << 28, timeout: 300_000});
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.toString().trimEnd().split('\n');
    expect(lines.length).toBe(cmd === 'ls -l' ? 200_001 : 200_000);
    expect(lines.at(-1)).toMatch(/ ?99999$/); // byte order, as GNU: ... 99998 99999
  }, 300_000);

  it('ls on a terminal lays the 200,000 entries out in columns', () => {
    const out = dboxOnTerminal(`ls /containers/${c}/data/big`);
    const lines = out.toString().trimEnd().split('\n');
    expect(lines.length).toBeLessThan(200_000 / 5);
    expect(lines.every((l) => l.length < 100)).toBe(true);
  }, 300_000);

  it('ls -R of a 10,000-level tree ends as GNU ls does: File name too long, status 1', () => {
    // dbox opens absolute paths, GNU the paths it shows: name the tree by an absolute path. Its
    // paths all have an even length (beforeAll): an odd one would meet a 4095-byte path, which the
    // native addon refuses one byte early (see checkLength in builtins/ls.ts).
    const deep = path.join(host, 'deep');
    const mine = spawnSync(process.execPath, [dboxPath, '-c', `ls -R ${deep}`], {cwd: '/', env, maxBuffer: 1 << 28});
    const theirs = spawnSync('ls', ['-R', deep], {cwd: '/', env, maxBuffer: 1 << 28});
    expect(theirs.status).toBe(1);
    expect(mine.stderr.toString()).toBe(theirs.stderr.toString());
    expect(mine.stderr.toString()).toMatch(/^ls: cannot open directory '\/.*deep(\/a)+': File name too long\n$/);
    expect(mine.stdout.equals(theirs.stdout)).toBe(true);
    expect(mine.status).toBe(1);
  }, 300_000);

  it('ls -R of a 10,000-level tree in a container ends with File name too long, not an internal error', () => {
    const r = spawnSync(process.execPath, [dboxPath, '-c', `ls -R /containers/${c}/tmp/a`], {env, maxBuffer: 1 << 28});
    expect(r.stderr.toString()).toMatch(new RegExp(`^ls: cannot open directory '/containers/${c}/tmp/a(/a)+': File name too long\\n$`));
    expect(r.status).toBe(1);
    // the deepest directory listed has a path (its header, without ':') shorter than PATH_MAX
    expect(nameBytes(r.stdout.toString().trimEnd().split('\n').at(-2)!.replace(/:$/, '')).length).toBeLessThan(4096);
  }, 300_000);
});
