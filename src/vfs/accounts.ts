// uid/gid -> name from a filesystem's own /etc/passwd and /etc/group (a container's files are
// owned by the container's users), read through its ContainerFs and kept per filesystem.
//
// Trust: none. The files are the container's: they may be huge, not regular files (a FIFO would
// block the read for ever, a device would never end), have lines of any length or bytes of any
// kind. So: only a regular file is read (checked by stat just before; a swap in between is still
// bounded by the read range), at most MAX_BYTES of it; one entry a line (a line is the text between
// two '\n'); the first entry for an id wins (as getpwuid); a name is at most MAX_NAME bytes of
// anything but ':' and '\n', an id a decimal number up to 2^32-1; any other line is ignored. Names
// are returned as they are (invalid bytes as surrogate escapes, src/format/utf8.ts): whoever prints
// them quotes them (ls does, src/format/quote.ts).
import {bytesName} from '../format/utf8.js';
import type {ContainerFs} from './types.js';
import {S_IFMT, S_IFREG} from './types.js';

export interface Accounts {
  user(uid: number): string;
  group(gid: number): string;
}

/** More than any real passwd or group file. */
const MAX_BYTES = 1 << 20;
/** glibc's LOGIN_NAME_MAX; longer names are not shown (the id is). */
const MAX_NAME = 256;
const MAX_ID = 2 ** 32 - 1;

export function parseIds(text: string): Map<number, string> {
  const map = new Map<number, string>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const first = line.indexOf(':');
    if (first <= 0 || first > MAX_NAME) continue;
    const second = line.indexOf(':', first + 1);
    if (second < 0) continue;
    const third = line.indexOf(':', second + 1);
    const id = line.slice(second + 1, third < 0 ? undefined : third);
    if (!/^\d{1,10}$/.test(id) || Number(id) > MAX_ID) continue;
    const name = line.slice(0, first);
    if (Buffer.byteLength(name) > MAX_NAME) continue;
    if (!map.has(Number(id))) map.set(Number(id), name);
  }
  return map;
}

async function readSmall(fs: ContainerFs, path: string): Promise<string> {
  try {
    const st = await fs.stat(path);
    if ((st.mode & S_IFMT) !== S_IFREG) return '';
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await fs.createReadStream(path, {offset: 0, length: MAX_BYTES})) {
      const b = chunk as Buffer;
      chunks.push(b.subarray(0, MAX_BYTES - size));
      size += b.length;
      if (size >= MAX_BYTES) break;
    }
    return bytesName(Buffer.concat(chunks));
  } catch {
    return '';
  }
}

const cache = new WeakMap<ContainerFs, Promise<Accounts>>();

export function accountsOf(fs: ContainerFs): Promise<Accounts> {
  let accounts = cache.get(fs);
  if (!accounts) {
    accounts = Promise.all([readSmall(fs, '/etc/passwd'), readSmall(fs, '/etc/group')]).then(([p, g]) => {
      const users = parseIds(p);
      const groups = parseIds(g);
      return {user: (uid) => users.get(uid) ?? String(uid), group: (gid) => groups.get(gid) ?? String(gid)};
    });
    cache.set(fs, accounts);
  }
  return accounts;
}
