// Roots the agent assembles from the engine's own directories (native/layers.c), for the
// files of what has no process: images, volumes, stopped containers.
//   LayersRoot   an image's layers, or a stopped container's (its upper directory on top), as one
//                read-only overlay that lives in no mount namespace (a detached mount in the
//                agent, gone with its fd); or a volume's directory, read-write as it is. Opened
//                in the same round trip as the first request that needs it, closed after IDLE_MS
//                without requests (DBOX_AGENT_HOLD_IDLE), so a long-lived mount sees changes made
//                meanwhile by others (the kernel's overlay caches what it has looked up).
//   StoppedRoot  a stopped container: reads and listings on its LayersRoot (no archive request,
//                nothing locked at the engine: `docker inspect` and `docker start` never wait for
//                a read); writes on its filesystem as the engine mounts it for an archive upload
//                held open (roots.ts HeldRoot), so a write is native and atomic (a rename is a
//                rename, a file is linked into place whole, hard links stay) and a `docker start`
//                during it WAITS until the hold is let go (the engine's own lock): a container
//                never starts on a filesystem being changed, and there is never a second overlay
//                with its upper directory (ours has none: it writes nothing and takes none of
//                overlayfs's in-use locks). While a hold is there, reads go to it too; after one,
//                the read-only overlay is assembled again (it would not see what was written).
//
// What they trust: the engine's paths only as layers.ts and the agent check them (below the data
// root, overlay2's shape, no link on the way). An engine that refuses, an agent without
// CAP_SYS_ADMIN (older agents) or a kernel that cannot: RootRefused, and the filesystem hands
// over to the archive API, saying why.
import {AgentErrno, type AgentClient} from './client.js';
import {RootRefused, type HeldRoot, type Root, type RootSource} from './roots.js';

const IDLE_MS = (): number => {
  const v = Number(process.env['DBOX_AGENT_HOLD_IDLE']);
  return Number.isFinite(v) && v >= 0 ? v : 1000;
};

export interface LayersSpec {
  readonly kind: 'read-only' | 'directory';
  readonly dataRoot: string;
  /** Top first (one, for a directory). */
  readonly layers: readonly string[];
}

export class LayersRoot implements RootSource {
  readonly handsOut = false;
  private current: Root | undefined;
  /** The root being opened, or opened, in a session. */
  private opening: {client: AgentClient; root: Promise<Root>} | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Roots assembled so far (tests). */
  opened = 0;

  /** @param spec the directories, asked of the engine when first needed (and again after each close). */
  constructor(private readonly spec: () => Promise<LayersSpec | undefined>, private readonly what: string) {}

  root(client: AgentClient): Promise<Root> {
    // One root per session, however many requests ask at once.
    if (!this.opening || this.opening.client !== client) {
      this.close();
      const opening = {client, root: this.open(client)};
      opening.root.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
      this.opening = opening;
    }
    return this.opening.root;
  }

  private async open(client: AgentClient): Promise<Root> {
    const spec = await this.spec();
    if (!spec) throw new RootRefused(`the engine does not describe ${this.what}'s files as overlay2 directories dbox can check`);
    const {handle, opened} = client.openLayers(spec.kind, spec.dataRoot, spec.layers);
    this.opened++;
    this.current = {client, handle, ready: Promise.resolve()};
    try {
      await opened;
    } catch (error) {
      if (this.current?.handle === handle) this.current = undefined;
      throw error instanceof AgentErrno ? new RootRefused(`the agent could not assemble ${this.what}'s files (${error.code})`) : error;
    }
    return {client, handle, ready: Promise.resolve()};
  }

  busy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** No request is left (AgentFs calls it once the last one ends). */
  idle(): void {
    this.busy();
    if (!this.current) return;
    this.timer = setTimeout(() => this.close(), IDLE_MS());
    this.timer.unref();
  }

  retire(): void {
    this.close();
  }

  /** Closes the root now (the agent drops the mount once no request holds it); the next request opens a new one. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.current;
    this.current = undefined;
    this.opening = undefined;
    if (c?.client.alive) c.client.closeRoot(c.handle).catch(() => undefined);
  }
}

export class StoppedRoot implements RootSource {
  readonly handsOut = false;
  /** A write has been made since the read-only overlay was assembled. */
  private wrote = false;

  constructor(private readonly layers: LayersRoot, private readonly held: HeldRoot) {}

  async root(client: AgentClient, write = false): Promise<Root> {
    for (;;) {
      if (write || this.held.holding) {
        this.wrote = true;
        this.layers.close();
        return this.held.root(client);
      }
      // A hold being let go: the layers are assembled once the engine has unmounted (a read in
      // that moment took a new hold, and lent nothing).
      const letting = this.held.lettingGo;
      if (!letting) break;
      await letting;
    }
    if (this.wrote) {
      this.wrote = false;
      this.layers.close();
    }
    return this.layers.root(client);
  }

  busy(): void {
    this.held.busy();
    this.layers.busy();
  }

  idle(): void {
    this.held.idle();
    this.layers.idle();
  }

  retire(): void {
    this.held.retire();
    this.layers.retire();
  }
}
