// The default toolbox for `attach`: Debian's static busybox with its applet links, under
// $XDG_DATA_HOME/dbox/toolbox (default ~/.local/share/dbox/toolbox).
import fs from 'node:fs';
import path from 'node:path';
import {DboxError} from '../errors.js';
import type {Capture} from '../shell/context.js';

export class AttachError extends DboxError {}

export function toolboxDir(env: NodeJS.ProcessEnv = process.env): string {
  const data = env['XDG_DATA_HOME'] || path.join(env['HOME'] || '/root', '.local', 'share');
  return path.join(data, 'dbox', 'toolbox');
}

/** True for an ELF executable without a program interpreter (PT_INTERP), i.e. statically linked. */
export function isStaticElf(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const h = Buffer.alloc(64);
    fs.readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false; // ELF, 64-bit
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

const missingBusybox = (why: string): AttachError =>
  new AttachError(`no static busybox for the toolbox (${why}): install Debian's busybox-static ` +
    '(`sudo apt-get install busybox-static`), or give attach a HOSTDIR of static tools');

/** Builds the toolbox on first use (asking busybox for its applets through `capture`, ShellContext.capture); returns its directory. */
export async function ensureToolbox(capture: Capture, env: NodeJS.ProcessEnv = process.env, busybox = env['DBOX_BUSYBOX'] || '/bin/busybox'): Promise<string> {
  const dir = toolboxDir(env);
  if (fs.existsSync(path.join(dir, 'bin', 'busybox'))) return dir;
  if (!fs.existsSync(busybox)) throw missingBusybox(`${busybox} does not exist`);
  if (!isStaticElf(busybox)) throw missingBusybox(`${busybox} is dynamically linked`);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, {recursive: true, force: true});
  fs.mkdirSync(path.join(tmp, 'bin'), {recursive: true});
  fs.copyFileSync(busybox, path.join(tmp, 'bin', 'busybox'));
  fs.chmodSync(path.join(tmp, 'bin', 'busybox'), 0o755);
  const list = await capture(busybox, ['--list']);
  if (list.status !== 0) {
    fs.rmSync(tmp, {recursive: true, force: true});
    throw missingBusybox(`${busybox} --list: ${list.error ?? `status ${list.status}`}`);
  }
  const applets = list.stdout.split('\n').filter((a) => a && a !== 'busybox');
  for (const applet of applets) fs.symlinkSync('busybox', path.join(tmp, 'bin', applet));
  fs.mkdirSync(path.dirname(dir), {recursive: true});
  fs.renameSync(tmp, dir);
  return dir;
}
