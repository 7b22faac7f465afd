// uid/gid -> name from a filesystem's own /etc/passwd and /etc/group (a container's files are
// owned by the container's users), read through its ContainerFs and kept per filesystem.
import type {ContainerFs} from './types.js';

export interface Accounts {
  user(uid: number): string;
  group(gid: number): string;
}

function parseIds(text: string): Map<number, string> {
  const map = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && /^\d+$/.test(id) && !map.has(Number(id))) map.set(Number(id), name);
  }
  return map;
}

async function readSmall(fs: ContainerFs, path: string): Promise<string> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await fs.createReadStream(path)) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size > 1 << 20) break;
    }
    return Buffer.concat(chunks).toString('utf8');
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
