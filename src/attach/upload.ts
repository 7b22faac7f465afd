// attach --method upload: the directory is copied into the container through the container's
// own filesystem driver (the namespace's ContainerFs: the local root entry by entry, or the
// engine's archive API in one extraction), the command runs with `docker exec`, and the copy is
// removed afterwards. For engines dbox cannot enter (remote, or not root).
//
// What is trusted, and why:
//   - The copy is the container's while it exists: it can change it, and nothing of it comes
//     back to the host. It is written without set-id bits (modes & 0777).
//   - Removal: only a directory that proves to be this upload's is removed, by a marker file at
//     its top holding a random token recorded in the state (native/attach-state.h). A state
//     file, a target path or a container's answer alone never makes dbox remove anything.
//   - The command runs as an exec of the engine (Engine.interactive), its terminal carried by the
//     hijacked connection (terminal-bridge.ts): no docker CLI, no dockerode outside engine.ts.
import {randomBytes} from 'node:crypto';
import {Readable} from 'node:stream';
import type {Engine} from '../docker/engine.js';
import {FsError, strerror} from '../errors.js';
import {join} from '../vfs/path.js';
import {isDir, isSymlink, S_IFMT, S_IFREG, type ContainerFs} from '../vfs/types.js';
import type {AttachState} from './state.js';
import {AttachError} from './toolbox.js';

/** The marker at the top of an uploaded directory. */
export const MARKER = '.dbox-upload';

export interface UploadTarget {
  readonly id: string;
  readonly name: string;
  readonly fs: ContainerFs;
  readonly engine: Engine;
  /** Where this machine records the upload (the helper's state, for attach --cleanup). */
  readonly state: AttachState;
}

/**
 * Copies the host tree below `from` into the new directory `to` (which exists), one entry at a
 * time: the engine serialises archive requests on a container, so more in flight gains nothing.
 */
async function copyIn(host: ContainerFs, from: string, into: ContainerFs, to: string): Promise<void> {
  for (const entry of await host.readdir(from)) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const st = entry.stat ?? (await host.lstat(src));
    if (isDir(st)) {
      await into.mkdir(dst, st.mode & 0o777);
      await copyIn(host, src, into, dst);
    } else if (isSymlink(st)) {
      await into.symlink(await host.readlink(src), dst);
    } else if ((st.mode & S_IFMT) === S_IFREG) {
      await into.writeFile(dst, await host.createReadStream(src), {mode: st.mode & 0o777, exclusive: true, size: st.size});
    }
  }
}

async function readSmall(fs: ContainerFs, path: string): Promise<string | undefined> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await fs.createReadStream(path, {offset: 0, length: 256})) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= 256) break;
    }
    return Buffer.concat(chunks).toString('latin1');
  } catch {
    return undefined;
  }
}

/**
 * Removes the upload at `target` if its marker holds `token`: 'removed', 'absent' (nothing
 * there), or 'foreign' (something that does not prove to be this upload: left alone). The
 * driver's remove runs the container's own `rm`; a container without one gets the copy's.
 */
export async function removeUpload(c: UploadTarget, target: string, token: string): Promise<'removed' | 'absent' | 'foreign'> {
  const exists = async (): Promise<boolean> => (await c.fs.lstat(target).catch(() => undefined)) !== undefined;
  if (!(await exists())) return 'absent';
  if ((await readSmall(c.fs, join(target, MARKER))) !== token) return 'foreign';
  try {
    await c.fs.remove(target);
  } catch (error) {
    if (!(error instanceof FsError) || error.code !== 'ENOTSUP') throw error;
    await c.engine.exec(c.id, [`${target}/bin/rm`, '-rf', '--', target]);
  }
  if (await exists()) throw new AttachError(`${target} could not be removed from ${c.name}`);
  return 'removed';
}

/** Runs `cmd` in the container with `env` and the caller's terminal; its exit status. */
export type UploadExec = (cmd: readonly string[], env: readonly string[]) => Promise<number>;

export async function upload(c: UploadTarget, host: ContainerFs, hostDir: string, at: string, command: readonly string[], exec: UploadExec,
  pathVar: string): Promise<number> {
  const token = randomBytes(16).toString('hex');
  await c.state.recordUpload(c.id, at, token);
  let made = false;
  try {
    try {
      await c.fs.mkdir(at, 0o755);
      made = true;
      // First, so that whatever happens next the directory can be proven to be this upload.
      await c.fs.writeFile(join(at, MARKER), Readable.from([Buffer.from(token)]), {mode: 0o444, exclusive: true, size: token.length});
      if (c.fs.extractTar) await c.fs.extractTar(at, (await import('./pack.js')).pack(hostDir));
      else await copyIn(host, hostDir, c.fs, at);
    } catch (error) {
      if (!(error instanceof FsError)) throw error;
      if (error.code === 'EEXIST' && !made) throw new AttachError(`${at} already exists in the container (a previous attach? try attach --cleanup ${c.name})`);
      throw new AttachError(`cannot copy the toolbox into ${c.name}:${at}: ${made ? error.message : strerror(error.code)}`);
    }
    return await exec(command, [`PATH=${at}/bin:${pathVar}`]);
  } finally {
    if (!made) await c.state.forget(c.id);
    else {
      try {
        if ((await removeUpload(c, at, token)) === 'foreign') process.stderr.write(`attach: left ${at} in ${c.name}: it is no longer the uploaded copy\n`);
        await c.state.forget(c.id);
      } catch (error) {
        // The state stays, for attach --cleanup.
        process.stderr.write(`attach: ${at} was left in ${c.name} (${(error as Error).message}); attach --cleanup ${c.name} removes it\n`);
      }
    }
  }
}
