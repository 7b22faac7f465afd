// A container must never reach the host: its absolute symlinks, .. chains and symlinked
// directories resolve inside its own root for reads, writes, copies and listings, and a
// symlink swapped in during a copy does not escape either.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dbox, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();

/** Every entry below dir, by lstat: never follows a link (the copies hold links to host paths). */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(path.join(dir, prefix))) {
    const rel = path.join(prefix, name);
    const st = fs.lstatSync(path.join(dir, rel));
    if (st.isDirectory()) Object.assign(out, {[rel]: 'dir'}, snapshot(dir, rel));
    else out[rel] = st.isSymbolicLink() ? `-> ${fs.readlinkSync(path.join(dir, rel))}` : fs.readFileSync(path.join(dir, rel), 'utf8');
  }
  return out;
}

describe.runIf(hasEngine)('host safety', () => {
  let fixture: Fixture;
  let name: string;
  // Host-only paths the container's links point at: they exist on the host, not in the container.
  const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-host-secret-'));
  const secret = path.join(hostDir, 'secret.txt');
  let before: Record<string, string>;

  beforeAll(() => {
    fs.writeFileSync(secret, 'HOST SECRET\n');
    fs.mkdirSync(path.join(hostDir, 'sub'));
    fixture = makeFixture('safety', {
      'data/abs-secret': {symlink: secret},
      'data/dotdot-secret': {symlink: `../../../../../../../../..${secret}`},
      'data/host-dir': {symlink: hostDir},
      'data/dotdot-dir': {symlink: `../../../../../../..${hostDir}`},
      'data/etc-link': {symlink: '/etc'},
      // The same paths inside the container hold the container's own data.
      [`${hostDir.slice(1)}/secret.txt`]: 'container copy\n',
      'tree/a/file.txt': 'a\n',
      'tree/b/file.txt': 'b\n',
    });
    name = fixture.run('safe');
    before = snapshot(hostDir);
  });
  afterAll(() => {
    fixture?.cleanup();
    fs.rmSync(hostDir, {recursive: true, force: true});
  });

  it('cat through absolute and .. links reads the container, never the host', () => {
    for (const link of ['abs-secret', 'dotdot-secret', 'host-dir/secret.txt', 'dotdot-dir/secret.txt']) {
      const r = dbox(`cat /containers/${name}/data/${link}`);
      expect(r.stdout, link).toBe('container copy\n');
      expect(r.stdout).not.toContain('HOST SECRET');
    }
  });

  it('ls through a symlinked directory lists the container', () => {
    const r = dbox(`ls /containers/${name}/data/host-dir/`);
    expect(r.stdout.trim().split('\n')).toEqual(['secret.txt']); // the host dir also has `sub`
  });

  it('writes through links land in the container', () => {
    const src = path.join(os.tmpdir(), `dbox-src-${process.pid}.txt`);
    fs.writeFileSync(src, 'written by a test\n');
    try {
      expect(dbox(`cp ${src} /containers/${name}/data/host-dir/new.txt`).status).toBe(0);
      expect(dbox(`cp ${src} /containers/${name}/data/abs-secret`).status).toBe(0);
      expect(dbox(`cp -r /containers/${name}/tree /containers/${name}/data/dotdot-dir/`).status).toBe(0);
      expect(dbox(`cat /containers/${name}/data/host-dir/new.txt`).stdout).toBe('written by a test\n');
    } finally {
      fs.rmSync(src);
    }
    expect(snapshot(hostDir)).toEqual(before);
  });

  it('copying a container tree copies links as links, never their host targets', () => {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-dest-'));
    try {
      expect(dbox(`cp -a /containers/${name}/data ${dest}/`).status).toBe(0);
      expect(fs.readlinkSync(path.join(dest, 'data/abs-secret'))).toBe(secret);
      expect(fs.lstatSync(path.join(dest, 'data/host-dir')).isSymbolicLink()).toBe(true);
    } finally {
      fs.rmSync(dest, {recursive: true, force: true});
    }
  });

  it('a directory swapped for a host symlink during a copy does not escape', async () => {
    // Inside the container, flip tree/a between a directory and a link to the host-only dir.
    const flipper = spawn('docker', ['exec', name, 'sh', '-c',
      `cd /tree && while :; do mv a a.d; ln -s ${hostDir} a; rm a; mv a.d a; done`], {stdio: 'ignore'});
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-race-'));
    try {
      for (let i = 0; i < 25; i++) {
        const r = dbox(`cp -r /containers/${name}/tree ${dest}/t${i}`);
        // A copy may fail when the entry vanished mid-walk; it must never contain host data.
        if (r.status !== 0) expect(r.stderr).toMatch(/^cp: /);
      }
      for (const [p, content] of Object.entries(snapshot(dest))) {
        // `a` is a directory or a link (copied as a link); nothing below it is host data.
        expect(content, p).not.toContain('HOST SECRET');
        expect(p).not.toMatch(/secret|sub/);
      }
    } finally {
      flipper.kill();
      fs.rmSync(dest, {recursive: true, force: true});
    }
    expect(snapshot(hostDir)).toEqual(before);
  });
});
