// A toolbox on a filesystem of its own: an ext4 image on a loop device, standing for the host's
// root filesystem (whose own device cannot be opened here), with a canary at its top that must
// never be reachable from a container and the toolbox (busybox and some applet links) in tools/.
// The loop device is detached and the image removed in cleanup().
import {execFileSync, spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** An ext4 filesystem on a loop device, as a stand-in for the host's root filesystem (whose own
 *  device cannot be opened here): a canary at its top, the toolbox in tools/. */
export interface Ext4 {
  readonly mnt: string;
  readonly tools: string;
  readonly canary: string;
  readonly token: string;
  readonly device: string;
  cleanup(): void;
}

export function makeExt4(): Ext4 {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-ext4-'));
  const img = path.join(dir, 'img');
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt);
  execFileSync('truncate', ['-s', '64M', img]);
  execFileSync('mkfs.ext4', ['-q', img]);
  const loop = execFileSync('losetup', ['-f', '--show', img], {encoding: 'utf8'}).trim();
  const cleanup = (): void => {
    spawnSync('umount', [mnt]);
    spawnSync('losetup', ['-d', loop]);
    fs.rmSync(dir, {recursive: true, force: true});
  };
  const token = randomBytes(16).toString('hex');
  try {
    execFileSync('mount', [loop, mnt]);
    fs.writeFileSync(path.join(mnt, 'canary'), `${token}\n`);
    fs.mkdirSync(path.join(mnt, 'tools/bin'), {recursive: true});
    fs.copyFileSync('/bin/busybox', path.join(mnt, 'tools/bin/busybox'));
    fs.chmodSync(path.join(mnt, 'tools/bin/busybox'), 0o755);
    for (const applet of ['sh', 'cat', 'touch', 'mkdir', 'ln', 'rm', 'mv', 'chmod', 'truncate', 'mount', 'mknod', 'head', 'grep', 'sleep', 'test']) {
      fs.symlinkSync('busybox', path.join(mnt, 'tools/bin', applet));
    }
  } catch (error) {
    cleanup();
    throw error;
  }
  return {
    mnt, tools: path.join(mnt, 'tools'), canary: path.join(mnt, 'canary'), token,
    device: execFileSync('mountpoint', ['-d', mnt], {encoding: 'utf8'}).trim(),
    cleanup,
  };
}
