// Test fixtures on the real engine: images built with `docker import` from a root the test
// assembles (Debian's static busybox plus files), containers always with --network none.
// Everything a test creates is named after it and removed in cleanup().
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {writableBytes} from '../../src/format/utf8.js';

export const engineAnswers = (): boolean => spawnSync('docker', ['info'], {stdio: 'ignore', timeout: 10_000}).status === 0;

/** In CI a missing engine is a failure, never a skip. Locally the integration tests skip. */
export function requireEngine(): boolean {
  const ok = engineAnswers();
  if (!ok && process.env['CI'] === 'true') {
    throw new Error('CI=true but no Docker engine answers: run scripts/engine.sh up first');
  }
  return ok;
}

export const docker = (...args: string[]): string =>
  execFileSync('docker', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim();

const BUSYBOX = '/bin/busybox';

export interface Fixture {
  readonly tag: string;
  readonly root: string;
  readonly containers: string[];
  run(name: string, ...extra: string[]): string;
  create(name: string): string;
  cleanup(): void;
}

/**
 * Builds an image from a busybox root plus `files` (path -> content, or {symlink: target}; a
 * lone surrogate U+DC00+B in a path or target is the byte B), then returns helpers to start containers from it.
 */
export function makeFixture(label: string, files: Record<string, string | {symlink: string} | {dir: true}> = {}): Fixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `dbox-${label}-`));
  for (const dir of ['bin', 'etc', 'tmp', 'root', 'data']) fs.mkdirSync(path.join(root, dir), {recursive: true});
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
  for (const applet of ['sh', 'ls', 'cat', 'sleep', 'ln', 'mkdir', 'rm', 'mv', 'stat', 'echo', 'sha256sum', 'dd', 'find', 'readlink', 'touch', 'chown', 'chmod', 'truncate', 'rmdir']) {
    fs.symlinkSync('busybox', path.join(root, 'bin', applet));
  }
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/data:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
  for (const [p, content] of Object.entries(files)) {
    // Paths and link targets are dbox's names: U+DC00+byte is that byte (a name that is not UTF-8).
    const full = path.join(root, p);
    fs.mkdirSync(writableBytes(path.dirname(full)), {recursive: true});
    if (typeof content === 'string') fs.writeFileSync(writableBytes(full), content);
    else if ('symlink' in content) fs.symlinkSync(writableBytes(content.symlink), writableBytes(full));
    else fs.mkdirSync(writableBytes(full), {recursive: true});
  }
  const tag = `dbox-test/${label}-${process.pid}`;
  execFileSync('sh', ['-c', `tar -C '${root}' -c . | docker import -c 'ENV PATH=/bin' - ${tag}`], {stdio: 'ignore'});
  const containers: string[] = [];
  const unique = (name: string): string => `${name}-${process.pid}`;
  return {
    tag,
    root,
    containers,
    run(name, ...extra) {
      const n = unique(name);
      docker('run', '-d', '--network', 'none', '--name', n, ...extra, tag, 'sleep', '2147483647');
      containers.push(n);
      return n;
    },
    create(name) {
      const n = unique(name);
      docker('create', '--network', 'none', '--name', n, tag, 'sleep', '1');
      containers.push(n);
      return n;
    },
    cleanup() {
      if (containers.length > 0) spawnSync('docker', ['rm', '-f', ...containers], {stdio: 'ignore'});
      spawnSync('docker', ['rmi', '-f', tag], {stdio: 'ignore'});
      fs.rmSync(root, {recursive: true, force: true});
    },
  };
}

const dboxBin = path.resolve(import.meta.dirname, '../../bin/dbox.js');

export interface DboxRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `dbox -c LINE` as a user would (the built bundle, a real process). */
export function dbox(line: string, options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string} = {}): DboxRun {
  const r = spawnSync(process.execPath, [dboxBin, '-c', line], {
    cwd: options.cwd ?? os.tmpdir(), env: {...process.env, NO_COLOR: '1', ...options.env}, encoding: 'utf8',
    input: options.input ?? '', timeout: 120_000,
  });
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr};
}

export const dboxPath = dboxBin;

/** A chain of `depth` directories named `name` at `top` below `root` (a container's root as the
 *  host sees it), deeper than a path can name if need be: built by wrapping, each step renaming
 *  short paths only. */
export function chain(root: string, top: string, depth: number, name: string): void {
  fs.mkdirSync(`${root}${top}`);
  for (let i = 0; i < depth; i++) {
    fs.mkdirSync(`${root}/wrap`);
    fs.renameSync(`${root}${top}`, `${root}/wrap/${name}`);
    fs.renameSync(`${root}/wrap`, `${root}${top}`);
  }
}

/** Removes a user a test made (and its home), and what dbox kept for it in the temporary
 *  directory: its runtime directory (dbox-UID: the mount's log) and its agent doors
 *  (dbox-agent-UID), which would outlive the user, owned by a uid nobody has. */
export function removeUser(user: string): void {
  const uid = spawnSync('id', ['-u', user], {encoding: 'utf8'}).stdout.trim();
  spawnSync('userdel', ['-r', user], {stdio: 'ignore'});
  spawnSync('userdel', [user], {stdio: 'ignore'}); // a user made without a home
  if (!/^[1-9]\d*$/.test(uid)) return;
  for (const dir of [`dbox-${uid}`, `dbox-agent-${uid}`]) fs.rmSync(path.join(os.tmpdir(), dir), {recursive: true, force: true});
}
