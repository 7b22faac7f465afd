// Why a FUSE mount cannot be made by this user, said in words (instead of libfuse's "fuse failed"):
// what the system shows is gathered at the edge (gatherFuse), the verdict is pure (fuseProblem,
// unit-tested in test/unit/fuse-usable.test.ts).
//
// Users other than root mount through fusermount3 (fusermount for fuse-native's libfuse 2), a
// setuid-root helper that opens /dev/fuse with the user's own rights: the device must be open to
// them (0666, as the fuse3 package's udev rule makes it) and the helper installed, setuid root.
// What is trusted: the kernel's stat of those files.
import fs from 'node:fs';
import path from 'node:path';

export interface FuseFacts {
  readonly uid: number;
  /** /dev/fuse's stat, when it exists. */
  readonly device?: {readonly isCharacterDevice: boolean; readonly rdev: number; readonly mode: number};
  /** Whether this process may open /dev/fuse for reading and writing. */
  readonly openable: boolean;
  /** The helpers users other than root mount with, by name: their stat, when found on the search path. */
  readonly helpers: Readonly<Record<string, {readonly mode: number; readonly uid: number} | undefined>>;
}

const FUSE_DEVICE = (10 << 8) | 229; // makedev(10, 229) as glibc encodes small numbers
export const HELPERS = ['fusermount3', 'fusermount'] as const;

/** Why no FUSE mount can be made, or undefined when nothing visible stands in the way. */
export function fuseProblem(f: FuseFacts): string | undefined {
  if (!f.device) return '/dev/fuse does not exist (no FUSE here: modprobe fuse, or give the container the device)';
  if (!f.device.isCharacterDevice || f.device.rdev !== FUSE_DEVICE) return '/dev/fuse is not the FUSE device';
  if (f.uid === 0) return undefined;
  if (!f.openable) {
    return `/dev/fuse is not open to this user (mode ${(f.device.mode & 0o777).toString(8).padStart(4, '0')}; most systems make it 0666, ` +
      "as the fuse3 package's udev rule does: ask the administrator)";
  }
  for (const name of HELPERS) {
    const h = f.helpers[name];
    if (!h) return `${name} is not installed (it mounts FUSE for users other than root: apt-get install fuse3)`;
    if (h.uid !== 0 || (h.mode & 0o4000) === 0) return `${name} is not setuid root (it mounts FUSE for users other than root)`;
  }
  return undefined;
}

/** The facts fuseProblem judges, from this system. */
export function gatherFuse(env: NodeJS.ProcessEnv = process.env): FuseFacts {
  const st = fs.statSync('/dev/fuse', {throwIfNoEntry: false});
  let openable = false;
  try {
    fs.accessSync('/dev/fuse', fs.constants.R_OK | fs.constants.W_OK);
    openable = true;
  } catch { /* not for this user */ }
  const dirs = ['/usr/local/bin', '/usr/bin', '/bin', ...(env['PATH'] ?? '').split(':').filter((d) => path.isAbsolute(d))];
  const helpers: Record<string, {mode: number; uid: number} | undefined> = {};
  for (const name of HELPERS) {
    for (const d of dirs) {
      const h = fs.statSync(path.join(d, name), {throwIfNoEntry: false});
      if (h?.isFile()) {
        helpers[name] = {mode: h.mode, uid: h.uid};
        break;
      }
    }
  }
  return {uid: process.getuid?.() ?? 0, ...(st ? {device: {isCharacterDevice: st.isCharacterDevice(), rdev: st.rdev, mode: st.mode}} : {}), openable, helpers};
}
