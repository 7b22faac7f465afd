// The hostile container: an image (docker import, busybox static) whose files attack the host
// that looks at them. Built on the host as a root directory with raw byte names, then imported;
// every container of it carries the same attacks, running or stopped.
//   /links/d1/…/dK (K = 1..8): abs, rel (enough `..` to climb out of any mount), absdir, reldir,
//       relroot, pointing at the host canaries; the same canary paths exist inside the container
//       with CONTAINER-SIDE content, so a read resolved in the container's root has an answer.
//   /devs: kmsg (c 1 11), null (c 1 3), a FIFO; a block node is added at test time (the loop minor).
//   /setid: a 4755 root-owned binary (static busybox), a 2755 and a 0777 file.
//   /names: names with OSC/CSI escapes, a newline, a tab, invalid UTF-8; a link whose target is an
//       escape; a file owned by a user whose /etc/passwd name is an escape.
//   /plant: links to host canaries, for the copy that later writes through them.
//   /race: directories a racing process swaps with links to host paths.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {climb, type Canaries} from './canary.js';

export const DEPTHS = [1, 2, 3, 4, 5, 6, 7, 8];
/** `..` to add to a link's own depth: more than any mount point's depth on the host. */
const EXTRA_UP = 16;

export const OWNER_NAME = '\x1b]0;PWNED-OWNER\x07';
export const LINK_TARGET = '\x1b]0;PWNED-LINK\x07';
export const ESC_DIR = 'dir-\x1b]0;PWNED-DIR\x07';

/** Hostile names in /names, as raw bytes. */
export const NAMES: Record<string, Buffer> = {
  title: Buffer.from('title-\x1b]0;PWNED-TITLE\x07', 'latin1'),
  clear: Buffer.from('clear-\x1b[2J', 'latin1'),
  clip: Buffer.from('clip-\x1b]52;c;cm0gLXJmIH4K\x07', 'latin1'),
  conceal: Buffer.from('conceal-\x1b[8m', 'latin1'),
  newline: Buffer.from('new\nline', 'latin1'),
  tab: Buffer.from('tab\there', 'latin1'),
  invalid: Buffer.from([0x69, 0x6e, 0x76, 0x2d, 0xff, 0xfe, 0x2d, 0x75, 0x74, 0x66]),
};

/** What the container holds at the canary paths (its own files, never the host's). */
export const CONTAINER_SIDE = {file: 'CONTAINER-SIDE file\n', inner: 'CONTAINER-SIDE inner\n', rootFile: 'CONTAINER-SIDE root\n'};

export const linkDir = (depth: number): string => '/links/' + Array.from({length: depth}, (_, i) => `d${i + 1}`).join('/');

export interface HostileImage {
  readonly tag: string;
  readonly fifo: string;
  /** Removes the image (containers of it first). */
  cleanup(): void;
}

const BUSYBOX = '/bin/busybox';

function write(root: string, p: string, content: string | Buffer, mode = 0o644): void {
  const full = path.join(root, p);
  fs.mkdirSync(path.dirname(full), {recursive: true});
  fs.writeFileSync(full, content, {mode});
  fs.chmodSync(full, mode);
}

function link(root: string, p: string, target: string): void {
  const full = path.join(root, p);
  fs.mkdirSync(path.dirname(full), {recursive: true});
  fs.symlinkSync(target, full);
}

/** Builds the hostile image in `work` (a private directory) against `canaries`. */
export function buildHostileImage(label: string, work: string, canaries: Canaries, extra: (root: string) => void = () => undefined): HostileImage {
  const root = fs.mkdtempSync(path.join(work, 'root-'));
  for (const d of ['bin', 'etc', 'tmp', 'root', 'data', 'dev', 'proc', 'sys']) fs.mkdirSync(path.join(root, d), {recursive: true});
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of execFileSync(BUSYBOX, ['--list'], {encoding: 'utf8'}).split('\n').filter(Boolean)) {
    if (applet !== 'busybox') fs.symlinkSync('busybox', path.join(root, 'bin', applet));
  }
  write(root, 'etc/passwd', `root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/data:/bin/sh\n${OWNER_NAME}:x:1001:1001::/:/bin/sh\n`);
  write(root, 'etc/group', `root:x:0:\napp:x:1000:\n${OWNER_NAME}:x:1001:\n`);
  write(root, 'etc/marker', 'CONTAINER-MARKER\n');
  write(root, 'data/hello.txt', 'hello from the container\n');
  // The container's own files at the canary paths.
  write(root, canaries.file, CONTAINER_SIDE.file);
  write(root, path.join(canaries.dir, 'inner.txt'), CONTAINER_SIDE.inner);
  fs.mkdirSync(path.join(root, canaries.dir, 'sub'), {recursive: true});
  write(root, canaries.rootFile, CONTAINER_SIDE.rootFile);
  // Links at every depth.
  for (const depth of DEPTHS) {
    const dir = linkDir(depth);
    const up = depth + 1 + EXTRA_UP;
    link(root, `${dir}/abs`, canaries.file);
    link(root, `${dir}/rel`, climb(up, canaries.file));
    link(root, `${dir}/absdir`, canaries.dir);
    link(root, `${dir}/reldir`, climb(up, canaries.dir));
    link(root, `${dir}/relroot`, climb(up, canaries.rootFile));
  }
  // Devices and a FIFO (the container's own device cgroup would not let it open them).
  fs.mkdirSync(path.join(root, 'devs'));
  execFileSync('mknod', ['-m', '0666', path.join(root, 'devs/kmsg'), 'c', '1', '11']);
  execFileSync('mknod', ['-m', '0666', path.join(root, 'devs/null'), 'c', '1', '3']);
  const fifo = `fifo-${label}-${process.pid}`;
  execFileSync('mkfifo', ['-m', '0666', path.join(root, 'devs', fifo)]);
  // Set-id files.
  write(root, 'setid/suid', fs.readFileSync(BUSYBOX), 0o4755); // a real root-owned setuid binary
  write(root, 'setid/sgid', '#!/bin/sh\necho setgid\n', 0o2755);
  write(root, 'setid/plain', '#!/bin/sh\necho plain\n', 0o777);
  // Hostile names (raw bytes).
  const names = Buffer.from(path.join(root, 'names'));
  fs.mkdirSync(names);
  for (const n of Object.values(NAMES)) fs.writeFileSync(Buffer.concat([names, Buffer.from('/'), n]), 'named\n');
  fs.mkdirSync(path.join(root, 'names', ESC_DIR));
  write(root, `names/${ESC_DIR}/inside.txt`, 'inside\n');
  fs.symlinkSync(LINK_TARGET, path.join(root, 'names/link'));
  write(root, 'names/owned', 'owned\n');
  fs.chownSync(path.join(root, 'names/owned'), 1001, 1001);
  // Links an earlier copy plants on the host.
  link(root, 'plant/abs', canaries.file);
  link(root, 'plant/rel', climb(24, canaries.file));
  link(root, 'plant/dir', canaries.dir);
  // Trees a racing process swaps with links to host paths.
  for (const d of ['a', 'b']) write(root, `race/${d}/file.txt`, `race ${d}\n`);
  write(root, 'race/a/deeper/more.txt', 'more\n');
  write(root, 'tree/x/y/z.txt', 'z\n');
  extra(root);
  const tag = `dbox-test/adv-${label}-${process.pid}`;
  execFileSync('sh', ['-c', `tar -C '${root}' --numeric-owner -cf - . | docker import -c 'ENV PATH=/bin' - ${tag}`], {stdio: 'ignore'});
  fs.rmSync(root, {recursive: true, force: true});
  return {
    tag, fifo,
    cleanup() {
      const ids = spawnSync('docker', ['ps', '-aq', '--filter', `ancestor=${tag}`], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids], {stdio: 'ignore'});
      spawnSync('docker', ['rmi', '-f', tag], {stdio: 'ignore'});
    },
  };
}

/** A running container of `tag` (--network none), named after this process. */
export function runContainer(tag: string, name: string, ...extra: string[]): string {
  const n = `${name}-${process.pid}`;
  execFileSync('docker', ['run', '-d', '--network', 'none', '--name', n, '--hostname', name, ...extra, tag, 'sleep', '2147483647'], {stdio: 'ignore'});
  return n;
}

/** A created, never started container of `tag`: served by the engine driver (archive API). */
export function createdContainer(tag: string, name: string): string {
  const n = `${name}-${process.pid}`;
  execFileSync('docker', ['create', '--network', 'none', '--name', n, '--hostname', name, tag, 'sleep', '1'], {stdio: 'ignore'});
  return n;
}

/** A file's bytes inside a container, through docker cp (works running or stopped). */
export function containerFile(name: string, p: string): Buffer | undefined {
  const r = spawnSync('sh', ['-c', `docker cp '${name}:${p}' - | tar -xOf -`], {maxBuffer: 1 << 28});
  return r.status === 0 ? r.stdout : undefined;
}

/**
 * Puts a container's own files at the canary paths back as the image has them, and nothing else
 * there. Writes through links that stay inside the container (as they must) change them: appends,
 * touch, copies onto and into links; a case that reads them calls this first, so that it does not
 * depend on which cases ran before it. A running container is reset by a command in it; a created
 * (never started) one is created again from its image, under its name.
 */
export function resetContainerSide(name: string, tag: string, canaries: Canaries): void {
  const running = execFileSync('docker', ['inspect', '-f', '{{.State.Running}}', name], {encoding: 'utf8'}).trim() === 'true';
  if (!running) {
    const hostname = execFileSync('docker', ['inspect', '-f', '{{.Config.Hostname}}', name], {encoding: 'utf8'}).trim();
    execFileSync('docker', ['rm', '-f', name], {stdio: 'ignore'});
    execFileSync('docker', ['create', '--network', 'none', '--name', name, '--hostname', hostname, tag, 'sleep', '1'], {stdio: 'ignore'});
    return;
  }
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    `rm -rf ${q(canaries.dir)} ${q(canaries.file)} ${q(canaries.rootFile)}`,
    `mkdir -p ${q(path.join(canaries.dir, 'sub'))} ${q(path.dirname(canaries.rootFile))}`,
    `printf %s ${q(CONTAINER_SIDE.file)} > ${q(canaries.file)}`,
    `printf %s ${q(CONTAINER_SIDE.inner)} > ${q(path.join(canaries.dir, 'inner.txt'))}`,
    `printf %s ${q(CONTAINER_SIDE.rootFile)} > ${q(canaries.rootFile)}`,
    `chmod 644 ${q(canaries.file)} ${q(path.join(canaries.dir, 'inner.txt'))} ${q(canaries.rootFile)}`,
  ].join(' && ');
  execFileSync('docker', ['exec', name, 'sh', '-c', script], {stdio: 'ignore'});
}
