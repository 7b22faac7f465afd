// Where an agent-served filesystem's root comes from, in each session with the agent:
//   ProcessRoot  a running container: the root of its process, proven on the agent's side (its
//                cgroup names the container), opened in the same round trip as the first
//                request that needs it.
//   HeldRoot     a stopped container: its root filesystem as the engine itself mounts it while it
//                serves an archive upload (Engine.holdRootfs: a PUT of "/" whose body stays open,
//                ended by an empty archive). While held, the engine keeps the container locked: a
//                `docker start` waits until the hold is let go, so the container never starts on
//                a filesystem being changed here. Reads, listings and writes are then native and
//                atomic (rename is a rename, a write is an unnamed file linked into place). The hold
//                is let go after IDLE_MS without requests (DBOX_AGENT_HOLD_IDLE), the agent's
//                root closed first (it answers once nothing of it is open), so a waiting start
//                waits about a second more than the work it waited for.
//
// Why hold rather than assemble the overlay from LowerDir/UpperDir in the agent's own mount
// namespace: an overlay assembled behind the engine's back is undefined behaviour as soon as the
// engine mounts the same upper directory for a start (modern kernels refuse that start with
// EBUSY, older ones corrupt it), and it needs CAP_SYS_ADMIN; the hold asks the engine for what it
// does itself, needs no privilege beyond the agent's, and makes the start wait instead.
//
// What they trust: the engine's MergedDir only as a place to look (validate.ts checks its shape;
// the agent checks it is an overlay mount and reaches it through its own shim's root, never its
// own); the hold's end: if the engine lets go of the hold before we do (its connection broke),
// the root is closed at once and later requests fail (EIO), since the engine may unmount it.
import type {Engine} from '../docker/engine.js';
import {AgentErrno, type AgentClient} from './client.js';

export interface Root {
  readonly client: AgentClient;
  readonly handle: number;
  /** Settles with the agent's verdict on the root (requests may be sent before it). */
  readonly ready: Promise<void>;
}

export interface RootSource {
  /** The root in `client`'s session, opened when there is none there; `write`: for a change (layer-roots.ts StoppedRoot). */
  root(client: AgentClient, write?: boolean): Promise<Root>;
  /** A request starts; no request is left (a held root is let go after a while). */
  busy(): void;
  idle(): void;
  /** The filesystem is retired and nothing holds it: close the root. */
  retire(): void;
  /** Whether files of this root may be handed out open (never a stopped container's rootfs, which must be free to unmount). */
  readonly handsOut: boolean;
}

/** The root cannot be had through the agent (the filesystem hands over to the archive API). */
export class RootRefused extends Error {}

export class ProcessRoot implements RootSource {
  readonly handsOut = true;
  private current: Root | undefined;

  constructor(private readonly pid: number, private readonly id: string) {}

  async root(client: AgentClient): Promise<Root> {
    if (!this.current || this.current.client !== client) {
      const {handle, opened} = client.openRoot(this.pid, this.id);
      opened.catch(() => undefined);
      this.current = {client, handle, ready: opened};
    }
    return this.current;
  }

  busy(): void {}

  idle(): void {}

  retire(): void {
    const c = this.current;
    this.current = undefined;
    if (c?.client.alive) c.client.closeRoot(c.handle).catch(() => undefined);
  }
}

const IDLE_MS = (): number => {
  const v = Number(process.env['DBOX_AGENT_HOLD_IDLE']);
  return Number.isFinite(v) && v >= 0 ? v : 1000;
};
/** How long the engine may take to mount the root once asked. */
const MOUNT_MS = 10_000;

interface Held extends Root {
  release(): Promise<void>;
}

export class HeldRoot implements RootSource {
  readonly handsOut = false;
  private current: Held | undefined;
  /** A hold being taken (the engine mounting, the agent opening it). */
  private taking: {client: AgentClient; held: Promise<Held>} | undefined;
  private letting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set when the engine let go of a hold before we did: the root may be unmounted under us. */
  private lost: string | undefined;
  /** Holds taken so far (tests). */
  holds = 0;

  constructor(private readonly engine: Engine, private readonly id: string, private readonly merged: string) {}

  async root(client: AgentClient): Promise<Root> {
    if (this.lost) throw new AgentErrno('EIO');
    if (this.letting) await this.letting;
    if (this.current && this.current.client === client) return this.current;
    // One hold at a time: requests that come while it is being taken wait for it.
    if (this.taking?.client === client) return this.taking.held;
    if (this.current) await this.letGo();
    const taking = {client, held: this.take(client)};
    this.taking = taking;
    try {
      return await taking.held;
    } finally {
      if (this.taking === taking) this.taking = undefined;
    }
  }

  /** Asks the engine to hold the filesystem mounted, and opens it in `client`'s session. */
  private async take(client: AgentClient): Promise<Held> {
    const hold = this.engine.holdRootfs(this.id);
    let ended = false;
    let mine = false;
    hold.ended.then(() => (ended = true), () => (ended = true));
    const deadline = Date.now() + MOUNT_MS;
    let handle = 0;
    for (;;) {
      const o = client.openMergedRoot(this.merged);
      try {
        await o.opened;
        handle = o.handle;
        break;
      } catch (error) {
        if (error instanceof AgentErrno && error.code === 'EAGAIN' && !ended && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        await hold.release();
        if (error instanceof AgentErrno) {
          throw new RootRefused(error.code === 'EAGAIN' ? 'the engine did not mount its filesystem for an archive request' :
            `the agent could not open its filesystem (${error.code})`);
        }
        throw error;
      }
    }
    this.holds++;
    const held: Held = {client, handle, ready: Promise.resolve(), release: () => {
      mine = true;
      return hold.release();
    }};
    // The engine let go first (a broken connection): nothing may be done there any more.
    hold.ended.finally(() => {
      if (mine || this.current !== held) return;
      this.lost = 'the engine let go of the container\'s filesystem';
      void this.letGo();
    }).catch(() => undefined);
    this.current = held;
    return held;
  }

  /** Whether the engine holds the filesystem for us now (or is being asked to). */
  get holding(): boolean {
    return this.current !== undefined || this.taking !== undefined;
  }

  /** A hold being let go (its end, once the engine has gone on), or undefined. */
  get lettingGo(): Promise<void> | undefined {
    return this.letting;
  }

  busy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  idle(): void {
    this.busy();
    if (!this.current) return;
    this.timer = setTimeout(() => void this.letGo(), IDLE_MS());
    this.timer.unref();
  }

  retire(): void {
    this.busy();
    void this.letGo();
  }

  /** Closes the root (the agent answers once nothing of it is open), then lets the engine go on. */
  private letGo(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (!c) return this.letting ?? Promise.resolve();
    this.letting = (async () => {
      if (c.client.alive) await c.client.closeRoot(c.handle).catch(() => undefined);
      await c.release();
    })().finally(() => {
      this.letting = undefined;
    });
    return this.letting;
  }
}
