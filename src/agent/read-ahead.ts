// Read-ahead across files: when a file of a directory just listed is read whole, the next small
// regular files of that listing, in the order the reader goes (the listing's, or by inode), are
// asked for too, in the same flight, so that reading a directory's files one after the other
// (cp -r, grep -r through the mount, a tree walk) costs a round trip per window of files instead
// of one per file. Pure bookkeeping: which files to
// fetch, what is held and for how long; the fetching itself is given (AgentFs).
//
// What it keeps, and why it may: a listing is only a hint of which files come next (used for up
// to HINT_MS: a tree walk takes longer than a second); what is answered is the file's bytes as
// fetched, used at most TTL_MS after they were fetched (the window a listing itself is trusted
// for); any change made through the filesystem drops everything held. A held file that failed is
// not an answer: the read is made again, so its error is the read's own.
import type {DirEntry} from '../vfs/types.js';

/** How many files, and how many bytes, may be fetched ahead at once. */
const AHEAD_FILES = 128;
const AHEAD_BYTES = 8 << 20;
/** Files larger than this are never fetched ahead (they are worth their own round trip). */
const SMALL = 1 << 20;
const TTL_MS = 1000;
const DIRS_KEPT = 64;
const HINT_MS = 30_000;

interface Order {
  readonly entries: readonly DirEntry[];
  readonly at: ReadonlyMap<string, number>;
}

const indexed = (entries: readonly DirEntry[]): Order => ({entries, at: new Map(entries.map((e, i) => [e.name, i]))});

interface Held {
  readonly at: number;
  readonly size: number;
  readonly data: Promise<Buffer>;
}

export class ReadAhead {
  private readonly held = new Map<string, Held>();
  private heldBytes = 0;
  /** The file read last in each directory (the most recent DIRS_KEPT directories), to tell the reader's order. */
  private readonly lastRead = new Map<string, string>();
  /** Each listing in both orders, with every name's place (a lookup per read, not a search). */
  private readonly orders = new WeakMap<readonly DirEntry[], {listing: Order; byInode: Order}>();

  constructor(private readonly fetch: (path: string) => Promise<Buffer>) {}

  /** Drops everything held (a change was made). */
  clear(): void {
    this.held.clear();
    this.heldBytes = 0;
  }

  private drop(path: string): void {
    const h = this.held.get(path);
    if (!h) return;
    this.held.delete(path);
    this.heldBytes -= h.size;
  }

  /**
   * A whole read of `path` is starting, in directory `dir` whose listing (made `listedAt`) is
   * `entries`: returns the held bytes for it if there are (else undefined), and fetches the next
   * small files of the listing.
   */
  take(path: string, dir: string, name: string, entries: readonly DirEntry[] | undefined, listedAt: number): Promise<Buffer> | undefined {
    const now = Date.now();
    for (const [p, h] of this.held) if (now - h.at > TTL_MS) this.drop(p);
    const mine = this.held.get(path);
    this.drop(path);
    if (entries && now - listedAt <= HINT_MS) {
      const order = this.readOrder(dir, name, entries);
      const start = order?.at.get(name);
      if (order && start !== undefined) this.ahead(dir, order.entries, start + 1, now);
    }
    this.lastRead.delete(dir);
    this.lastRead.set(dir, name);
    if (this.lastRead.size > DIRS_KEPT) this.lastRead.delete(this.lastRead.keys().next().value!);
    return mine?.data;
  }

  /**
   * The order the reader goes through `entries`: the listing's, or inode order where the file read
   * just before in this directory (or none, for the first) comes right before this one in it: the
   * copy engine reads a directory by inode, as GNU cp does, grep -r in the listing's order.
   */
  private readOrder(dir: string, name: string, entries: readonly DirEntry[]): Order | undefined {
    let orders = this.orders.get(entries);
    if (!orders) {
      orders = {listing: indexed(entries), byInode: indexed([...entries].sort((a, b) => (a.stat?.ino ?? 0) - (b.stat?.ino ?? 0)))};
      this.orders.set(entries, orders);
    }
    let i = orders.byInode.at.get(name);
    if (i === undefined) return undefined;
    const byInode = orders.byInode.entries;
    while (--i >= 0 && byInode[i]!.type !== 'file');
    return (i >= 0 ? byInode[i]!.name : undefined) === this.lastRead.get(dir) ? orders.byInode : orders.listing;
  }

  private ahead(dir: string, entries: readonly DirEntry[], from: number, now: number): void {
    for (let i = from; i < entries.length && this.held.size < AHEAD_FILES; i++) {
      const e = entries[i]!;
      if (e.type !== 'file' || !e.stat || e.stat.size > SMALL) continue;
      const path = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      if (this.held.has(path)) continue;
      if (this.heldBytes + e.stat.size > AHEAD_BYTES) break;
      const data = this.fetch(path);
      data.catch(() => undefined); // a failed fetch is simply not used
      this.held.set(path, {at: now, size: e.stat.size, data});
      this.heldBytes += e.stat.size;
    }
  }
}
