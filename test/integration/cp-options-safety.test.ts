// cp's GNU options against a hostile container (issue 12, the cp part): each trust the options
// add, attacked for real (a running container, its filesystem through /proc/<pid>/root, the host).
//  - Hard links kept by -a link only to what the copy made below its own top directory: a group
//    whose member is a symlink to the host is copied as links, and no host file gains a link.
//  - -L/-H follow links inside the container's root: a link to a host path reads the container's
//    (or nothing), also while the container swaps the link as fast as it can.
//  - A copy onto an existing file writes in place (the inode, its links, mode and owner stay),
//    and never opens anything but a regular file there (a FIFO swapped in is replaced, not opened).
//  - Holes stay holes across containers and to the host; device modes are exact with -a.
import {execFileSync, spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();

/** `dbox -c LINE` to its end (never spawnSync: a slow case must not hold the test process). */
function run(line: string, umask?: string): Promise<{status: number | null; stdout: string; stderr: string}> {
  const argv = [dboxPath, '-c', line];
  const child = umask === undefined
    ? spawn(process.execPath, argv, {env: {...process.env, NO_COLOR: '1', LC_ALL: 'C'}, stdio: ['ignore', 'pipe', 'pipe']})
    : spawn('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, ...argv],
      {env: {...process.env, NO_COLOR: '1', LC_ALL: 'C'}, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({status, stdout, stderr})));
}

describe.runIf(hasEngine)('cp options against a hostile container', () => {
  let fixture: Fixture;
  let c: string;
  let c2: string;
  let root: string;
  let root2: string;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-cp-options-'));
  const canary = path.join(work, 'canary');
  const secret = path.join(canary, 'secret.txt');

  beforeAll(() => {
    fs.mkdirSync(canary);
    fs.writeFileSync(secret, 'HOST SECRET\n');
    fixture = makeFixture('cpopts');
    c = fixture.run('c');
    c2 = fixture.run('c2');
    root = `/proc/${docker('inspect', '-f', '{{.State.Pid}}', c)}/root`;
    root2 = `/proc/${docker('inspect', '-f', '{{.State.Pid}}', c2)}/root`;
  });
  afterAll(() => {
    fixture?.cleanup();
    fs.rmSync(work, {recursive: true, force: true});
  });

  const fresh = (name: string): string => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    return dir;
  };
  const canaryIntact = (): void => {
    expect(fs.readFileSync(secret, 'utf8')).toBe('HOST SECRET\n');
    expect(fs.statSync(secret).nlink).toBe(1);
  };

  it('-a: a hard-link group whose members are symlinks to the host is copied as links sharing an inode; no host file is linked', async () => {
    docker('exec', c, 'sh', '-c', `mkdir -p /hl/sub && ln -s ${secret} /hl/l && ln /hl/l /hl/sub/l2 && ` +
      `printf data > /hl/f && ln /hl/f /hl/sub/f2 && ln -s ${canary} /hl/dirlink && ln /hl/dirlink /hl/sub/dirlink2`);
    for (const [to, name] of [[fresh('hl-host'), 'host'], [`/containers/${c2}/tmp`, 'c2']] as const) {
      const r = await run(`cp -a /containers/${c}/hl ${to}/`);
      expect(r).toMatchObject({status: 0, stderr: ''});
      const out = name === 'host' ? path.join(to, 'hl') : `${root2}/tmp/hl`;
      const l = fs.lstatSync(path.join(out, 'l'));
      expect(l.isSymbolicLink()).toBe(true);
      expect(fs.readlinkSync(path.join(out, 'l'))).toBe(secret);
      expect(fs.lstatSync(path.join(out, 'sub/l2')).ino).toBe(l.ino);
      expect(fs.lstatSync(path.join(out, 'sub/dirlink2')).ino).toBe(fs.lstatSync(path.join(out, 'dirlink')).ino);
      expect(fs.lstatSync(path.join(out, 'sub/f2')).ino).toBe(fs.lstatSync(path.join(out, 'f')).ino);
      expect(fs.readdirSync(canary)).toEqual(['secret.txt']);
      canaryIntact();
    }
  });

  it('-L and -H follow a link inside the container: an absolute link to a host path is the container\'s path', async () => {
    docker('exec', c, 'sh', '-c', `mkdir -p /follow /tmp/in && printf container > /tmp/in/x && ln -s ${canary} /follow/out && ` +
      `ln -s ${secret} /follow/file && mkdir -p ${canary} && printf "container's own" > ${secret}`);
    const dir = fresh('follow');
    const r = await run(`cp -rL /containers/${c}/follow ${dir}/L; cp -H /containers/${c}/follow/file ${dir}/H; cp -L /containers/${c}/follow/file ${dir}/L1`);
    expect(r).toMatchObject({status: 0, stderr: ''});
    expect(fs.readFileSync(path.join(dir, 'L/out/secret.txt'), 'utf8')).toBe("container's own");
    expect(fs.readFileSync(path.join(dir, 'L/file'), 'utf8')).toBe("container's own");
    expect(fs.readFileSync(path.join(dir, 'H'), 'utf8')).toBe("container's own");
    expect(fs.readFileSync(path.join(dir, 'L1'), 'utf8')).toBe("container's own");
    canaryIntact();
  });

  it('-rL while the container swaps a link between its own directory and a host path: never a host byte', async () => {
    docker('exec', c, 'sh', '-c', 'mkdir -p /race/own && printf mine > /race/own/f && ln -s own /race/l');
    // The container swaps /race/l between `own` and the host's canary directory (absent in the container) without pause.
    docker('exec', '-d', c, 'sh', '-c', `echo $$ > /race/pid; while :; do ln -sfn ${canary} /race/l.new && mv -f /race/l.new /race/l; ` +
      'ln -sfn own /race/l.new && mv -f /race/l.new /race/l; done');
    const dir = fresh('race');
    for (let i = 0; i < 8; i++) {
      const r = await run(`cp -rL /containers/${c}/race/l ${dir}/o${i}; cp -H /containers/${c}/race/l/f ${dir}/h${i}; cp -rH /containers/${c}/race/l ${dir}/d${i}`);
      expect(r.stderr).not.toContain('HOST SECRET');
      for (const name of fs.readdirSync(dir)) {
        const found = execFileSync('sh', ['-c', `cat $(find ${JSON.stringify(path.join(dir, name))} -type f) 2>/dev/null || true`], {encoding: 'utf8'});
        expect(found).not.toContain('HOST SECRET');
      }
    }
    docker('exec', c, 'sh', '-c', 'kill $(cat /race/pid)');
    canaryIntact();
  });

  it('onto an existing file in a container: the same inode, its hard links and mode; a FIFO there is replaced, never opened', async () => {
    docker('exec', c, 'sh', '-c', 'mkdir -p /inplace && printf old > /inplace/t && chmod 640 /inplace/t && chown 1000:1000 /inplace/t && ' +
      'ln /inplace/t /inplace/t2 && busybox mkfifo /inplace/fifo');
    const src = path.join(fresh('inplace'), 'src');
    fs.writeFileSync(src, 'new bytes\n');
    fs.chmodSync(src, 0o755);
    const before = fs.statSync(`${root}/inplace/t`);
    expect(await run(`cp ${src} /containers/${c}/inplace/t`)).toMatchObject({status: 0, stderr: ''});
    const after = fs.statSync(`${root}/inplace/t`);
    expect([after.ino, after.mode & 0o7777, after.uid, after.nlink]).toEqual([before.ino, 0o640, 1000, 2]);
    expect(fs.readFileSync(`${root}/inplace/t2`, 'utf8')).toBe('new bytes\n');
    // From another container too (the native fd copy), and with -p the source's mode.
    docker('exec', c2, 'sh', '-c', 'printf "from c2" > /tmp/src2 && chmod 604 /tmp/src2');
    expect(await run(`cp -p /containers/${c2}/tmp/src2 /containers/${c}/inplace/t`)).toMatchObject({status: 0, stderr: ''});
    expect(fs.statSync(`${root}/inplace/t`)).toMatchObject({ino: before.ino, nlink: 2});
    expect(fs.statSync(`${root}/inplace/t`).mode & 0o7777).toBe(0o604);
    expect(fs.readFileSync(`${root}/inplace/t2`, 'utf8')).toBe('from c2');
    // A FIFO at the destination: GNU would open it and wait; dbox replaces it (no reader needed, no wait).
    expect(await run(`cp ${src} /containers/${c}/inplace/fifo`)).toMatchObject({status: 0, stderr: ''});
    expect(fs.lstatSync(`${root}/inplace/fifo`).isFile()).toBe(true);
    // --remove-destination: a new inode; the other name keeps the old bytes.
    expect(await run(`cp --remove-destination ${src} /containers/${c}/inplace/t`)).toMatchObject({status: 0, stderr: ''});
    expect(fs.statSync(`${root}/inplace/t`).ino).not.toBe(before.ino);
    expect(fs.readFileSync(`${root}/inplace/t2`, 'utf8')).toBe('from c2');
  });

  it('holes stay holes (container to host, container to container), --sparse=never fills them; -a keeps device modes exactly', async () => {
    docker('exec', c, 'sh', '-c', 'mkdir -p /sp && truncate -s 100M /sp/sparse && printf end >> /sp/sparse && busybox mknod /sp/null c 1 3 && chmod 666 /sp/null');
    const dir = fresh('sparse');
    expect(await run(`cp /containers/${c}/sp/sparse ${dir}/s && cp --sparse=never /containers/${c}/sp/sparse ${dir}/full`))
      .toMatchObject({status: 0, stderr: ''});
    expect(fs.statSync(path.join(dir, 's')).size).toBe(100 * 1024 * 1024 + 3);
    expect(fs.statSync(path.join(dir, 's')).blocks).toBeLessThan(64);
    expect(fs.statSync(path.join(dir, 'full')).blocks).toBeGreaterThan(200_000);
    expect(await run(`cp -a /containers/${c}/sp /containers/${c2}/tmp/`, '077')).toMatchObject({status: 0, stderr: ''});
    expect(fs.statSync(`${root2}/tmp/sp/sparse`).blocks).toBeLessThan(64);
    const dev = fs.lstatSync(`${root2}/tmp/sp/null`);
    expect([dev.isCharacterDevice(), dev.mode & 0o7777, dev.rdev]).toEqual([true, 0o666, fs.lstatSync(`${root}/sp/null`).rdev]);
    expect(execFileSync('cmp', [`${root}/sp/sparse`, `${root2}/tmp/sp/sparse`]).length).toBe(0);
  });

  it('-x stays on the source\'s file system: a mount point inside the tree is made, empty, as GNU cp -x makes it', async () => {
    const dir = fresh('onefs');
    fs.mkdirSync(path.join(dir, 't/sub/mnt'), {recursive: true});
    fs.writeFileSync(path.join(dir, 't/sub/kept'), 'kept\n');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'dbox-cp-x', path.join(dir, 't/sub/mnt')]);
    try {
      fs.writeFileSync(path.join(dir, 't/sub/mnt/other-fs'), 'not copied with -x\n');
      execFileSync('cp', ['-rx', path.join(dir, 't'), path.join(dir, 'gnu')]);
      expect(await run(`cp -rx ${dir}/t ${dir}/dbox`)).toMatchObject({status: 0, stderr: ''});
      for (const who of ['gnu', 'dbox']) {
        expect(fs.readdirSync(path.join(dir, who, 'sub')).sort()).toEqual(['kept', 'mnt']);
        expect(fs.readdirSync(path.join(dir, who, 'sub/mnt'))).toEqual([]);
      }
      expect(await run(`cp -r ${dir}/t ${dir}/all`)).toMatchObject({status: 0, stderr: ''});
      expect(fs.readdirSync(path.join(dir, 'all/sub/mnt'))).toEqual(['other-fs']);
    } finally {
      execFileSync('umount', [path.join(dir, 't/sub/mnt')]);
    }
  });

  it('-l and -s across containers, or from a container to the host: GNU-style errors, nothing made', async () => {
    docker('exec', c, 'sh', '-c', 'printf x > /tmp/lnk');
    const dir = fresh('cross');
    const r = await run(`cp -l /containers/${c}/tmp/lnk /containers/${c2}/tmp/lnk`);
    expect(r).toEqual({status: 1, stdout: '', stderr: `cp: cannot create hard link '/containers/${c2}/tmp/lnk' to '/containers/${c}/tmp/lnk': Invalid cross-device link\n`});
    const s = await run(`cp -s /containers/${c}/tmp/lnk ${dir}/s`);
    expect(s).toEqual({status: 1, stdout: '', stderr: `cp: cannot create symbolic link '${dir}/s' to '/containers/${c}/tmp/lnk': Invalid cross-device link\n`});
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.existsSync(`${root2}/tmp/lnk`)).toBe(false);
    // Inside one container: a hard link there, and a symlink naming the container's own path.
    expect(await run(`cp -l /containers/${c}/tmp/lnk /containers/${c}/tmp/lnk2 && cp -s /containers/${c}/tmp/lnk /containers/${c}/tmp/sym`))
      .toMatchObject({status: 0, stderr: ''});
    expect(fs.statSync(`${root}/tmp/lnk2`).ino).toBe(fs.statSync(`${root}/tmp/lnk`).ino);
    expect(fs.readlinkSync(`${root}/tmp/sym`)).toBe('/tmp/lnk');
  });
});
