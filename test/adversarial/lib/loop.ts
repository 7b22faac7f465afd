// A small ext4 filesystem on a loop device, made by the test (the machine's own disk cannot be
// opened): for attach --method blockdev (HOSTDIR must be on a block device) and for a block
// device node planted in a container. Detached and removed in cleanup, whatever happened.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface LoopFs {
  readonly img: string;
  readonly dev: string;
  readonly major: number;
  readonly minor: number;
  readonly mnt: string;
  /** Loop devices still backed by this image (none after cleanup). */
  attached(): string[];
  cleanup(): void;
}

export function makeLoopFs(dir: string, sizeMb = 64): LoopFs {
  const img = path.join(dir, 'ext4.img');
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt, {recursive: true});
  execFileSync('truncate', ['-s', `${sizeMb}M`, img]);
  execFileSync('mkfs.ext4', ['-q', '-F', img]);
  const dev = execFileSync('losetup', ['-f', '--show', img], {encoding: 'utf8'}).trim();
  // By name in `losetup -a`: still answers once the image file is gone.
  const attached = (): string[] => spawnSync('losetup', ['-a'], {encoding: 'utf8'}).stdout.split('\n').filter((l) => l.includes(img));
  try {
    execFileSync('mount', [dev, mnt]);
  } catch (error) {
    spawnSync('losetup', ['-d', dev]);
    throw error;
  }
  const rdev = fs.statSync(dev).rdev;
  return {
    img, dev, mnt, major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff),
    attached,
    cleanup() {
      for (let i = 0; i < 20 && spawnSync('mountpoint', ['-q', mnt]).status === 0; i++) {
        if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
      }
      for (const line of attached()) spawnSync('losetup', ['-d', line.split(':')[0]!]);
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}

/** A toolbox (static busybox and a few applet links) at `dir`. */
export function makeToolbox(dir: string): void {
  fs.mkdirSync(path.join(dir, 'bin'), {recursive: true});
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'ls', 'cat', 'touch', 'echo', 'grep', 'sleep', 'test', 'stat', 'mkdir', 'rm', 'mv', 'ln', 'find', 'head', 'id', 'true', 'false', 'wc']) {
    fs.symlinkSync('busybox', path.join(dir, 'bin', a));
  }
}
