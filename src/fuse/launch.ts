// Starting a mount process (`dbox mount DIR --foreground`) that outlives whoever started it: the
// shell's background mount, and `dbox mount DIR`. It runs in its own session (no signal of the
// terminal reaches it: Ctrl-C at the prompt does not end the mount), with its stderr, and that of
// dbox-fuse below it, in the mount's log file (never a pipe of the launcher, which may exit first).
import {dboxLauncher} from '../self.js';
import {openMountLog} from './log.js';
import {spawnReady, StartFailed, type Started} from './ready.js';
import {runtimeDir} from './runtime.js';
import {optionList, type MountOptions} from './mount-options.js';
import fs from 'node:fs';

export interface Launched extends Started {
  readonly log: string;
}

/**
 * Starts the mount process for `dir` and waits until it is mounted. With `parentPipe` its stdin is a
 * pipe from this process: EOF (this process exited or crashed) ends the mount.
 */
export async function launchMount(dir: string, options: {parentPipe?: boolean; runtime?: string; options?: MountOptions} = {}): Promise<Launched> {
  const log = openMountLog(options.runtime ?? runtimeDir());
  try {
    const list = options.options ? optionList(options.options) : '';
    const args = [dboxLauncher, 'mount', dir, '--foreground', '--ready-fd', '3', ...(options.parentPipe ? ['--parent-pipe'] : []), ...(list ? ['-o', list] : [])];
    const started = await spawnReady(process.execPath, args, {channel: 3, stdin: options.parentPipe ? 'pipe' : 'ignore', stderr: log.fd, detached: true})
      .catch((error: unknown) => {
        throw error instanceof StartFailed ? new StartFailed(`${error.message} (see ${log.path})`, error.told) : error;
      });
    return {...started, log: log.path};
  } finally {
    fs.closeSync(log.fd);
  }
}
