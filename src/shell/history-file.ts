// Command history on disk: $XDG_STATE_HOME/dbox/history (default ~/.local/state/dbox/history), in
// bash's format with timestamps: each entry is a `#<seconds>` line followed by its lines, so an
// entry of several lines (a pasted for-loop) comes back whole (bash reads the file the same way
// with `shopt -s lithist`). A file without timestamp lines is read one entry a line.
//
// Which lines are kept follows bash's HISTSIZE (in memory), HISTFILESIZE (in the file) and
// HISTCONTROL (ignorespace, ignoredups, ignoreboth, erasedups), read by historyPolicy.
//
// Trust: dbox runs as root, and the history holds what the user typed (passwords passed on a
// command line, tokens). The file is the user's alone: its directory must be a real directory
// owned by the user (the effective uid) and writable by no one else, checked on a descriptor
// opened without following links and then used through that descriptor (/proc/self/fd/N/…), so a
// directory swapped for a link after the check changes nothing; when it is not, history stays in
// memory and nothing is read or written there (`sudo dbox` with the caller's HOME must not write
// root's commands into a directory the caller controls). The file is opened without following a
// link and read only when it is a regular file of the user's (not a FIFO that would block, not a
// link to /etc/shadow); it is replaced by a new file of mode 0600 made exclusively beside it and
// renamed over it, so readers never see half a file and its mode never depends on the old one.
import fs from 'node:fs';
import path from 'node:path';
import {defaultHistoryPolicy, type HistoryPolicy} from './editor.js';

export const HISTORY_MAX = 1000;
/** A history file larger than this is not read (it is not one dbox wrote). */
const READ_LIMIT = 64 << 20;

export interface FilePolicy extends HistoryPolicy {
  /** HISTFILESIZE: entries kept in the file. */
  readonly fileSize: number;
}

export function historyPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env['XDG_STATE_HOME'] || path.join(env['HOME'] || '/root', '.local', 'state');
  return path.join(state, 'dbox', 'history');
}

const count = (v: string | undefined, fallback: number): number => {
  if (v === undefined || v === '' || !/^-?\d+$/.test(v.trim())) return fallback;
  const n = Number(v);
  return n < 0 ? Number.MAX_SAFE_INTEGER : n; // bash: a negative size means no limit
};

/** bash's HISTSIZE, HISTFILESIZE and HISTCONTROL; without HISTCONTROL, dbox's own (no duplicate in a row). */
export function historyPolicy(vars: Readonly<Record<string, string | undefined>>): FilePolicy {
  const size = count(vars['HISTSIZE'], HISTORY_MAX);
  const fileSize = count(vars['HISTFILESIZE'], size);
  const control = vars['HISTCONTROL'];
  if (control === undefined) return {...defaultHistoryPolicy, size, fileSize};
  const words = control.split(':');
  const both = words.includes('ignoreboth');
  return {
    size, fileSize,
    ignoreSpace: both || words.includes('ignorespace'),
    ignoreDups: both || words.includes('ignoredups'),
    eraseDups: words.includes('erasedups'),
  };
}

const limits = (p: number | Partial<FilePolicy> | undefined): {size: number; fileSize: number} => {
  if (typeof p === 'number') return {size: p, fileSize: p};
  const size = p?.size ?? HISTORY_MAX;
  return {size, fileSize: p?.fileSize ?? size};
};

/** Why a directory cannot hold the history, or undefined when it is the user's alone. */
export function unsafeDirectory(st: fs.Stats, uid = process.geteuid?.() ?? 0): string | undefined {
  if (!st.isDirectory()) return 'not a directory';
  if (st.uid !== uid) return `owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o022) !== 0) return 'writable by others';
  return undefined;
}

/** Opens the history's directory (made 0700 when missing) after checking it is the user's; undefined when it is not. */
function openDirectory(file: string, create: boolean): number | undefined {
  const dir = path.dirname(file);
  if (create) {
    try {
      fs.mkdirSync(dir, {recursive: true, mode: 0o700});
    } catch {
      return undefined;
    }
  }
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  if (unsafeDirectory(fs.fstatSync(fd)) !== undefined) {
    fs.closeSync(fd);
    return undefined;
  }
  return fd;
}

const inDir = (dirFd: number, name: string): string => `/proc/self/fd/${dirFd}/${name}`;

/** The entries of a history file's text, oldest first. */
export function parseHistory(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (!lines.some((l) => /^#\d+$/.test(l))) return lines.filter((l) => l !== '');
  const entries: string[] = [];
  let current: string[] | undefined;
  for (const l of lines) {
    if (/^#\d+$/.test(l)) {
      if (current && current.length > 0) entries.push(current.join('\n'));
      current = [];
    } else (current ??= []).push(l);
  }
  if (current && current.length > 0) entries.push(current.join('\n'));
  return entries.filter((e) => e.trim() !== '');
}

/** The file's text for entries (bash's format with timestamps). */
export function formatHistory(entries: readonly string[], now = Math.floor(Date.now() / 1000)): string {
  return entries.map((e) => `#${now}\n${e}\n`).join('');
}

export function loadHistory(file: string, policy?: number | Partial<FilePolicy>): string[] {
  const {size} = limits(policy);
  const dirFd = openDirectory(file, false);
  if (dirFd === undefined) return [];
  try {
    const fd = fs.openSync(inDir(dirFd, path.basename(file)), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.uid !== (process.geteuid?.() ?? 0) || st.size > READ_LIMIT) return [];
      return parseHistory(fs.readFileSync(fd, 'utf8')).slice(-size);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  } finally {
    fs.closeSync(dirFd);
  }
}

/** Writes the history (its last HISTFILESIZE entries); false when the directory is not the user's or the write failed. */
export function saveHistory(file: string, lines: readonly string[], policy?: number | Partial<FilePolicy>): boolean {
  const {fileSize} = limits(policy);
  const dirFd = openDirectory(file, true);
  if (dirFd === undefined) return false;
  const name = path.basename(file);
  const tmp = `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    const fd = fs.openSync(inDir(dirFd, tmp), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // whatever the umask
      fs.writeFileSync(fd, formatHistory(fileSize > 0 ? lines.slice(-fileSize) : []));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(inDir(dirFd, tmp), inDir(dirFd, name));
    return true;
  } catch {
    fs.rmSync(inDir(dirFd, tmp), {force: true});
    return false;
  } finally {
    fs.closeSync(dirFd);
  }
}
