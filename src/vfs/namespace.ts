// The namespace a user sees: host paths, /containers and the containers' filesystems.
// resolve() turns a virtual path into the ContainerFs that serves it and the path inside.
// Which tree serves a container is decided by one policy (serving.ts, which the mount's fast path
// fuse/front.ts asks too); this module builds the driver from its answer: with a proven root the
// local driver (in-root resolution through /proc); else the dbox agent on the engine's host
// (`agent`: the same operations, run there), unless DBOX_AGENT=0: for a running container on its
// process's root (the pid proven on the agent's side), for a stopped one on its layers (read) and
// its filesystem as the engine mounts it, held (write; agent/layer-roots.ts); the archive API
// (`engine`) for the rest, and when the agent cannot run or cannot reach the container (it says
// why, once).
import {listEndpoints, type Endpoint} from '../docker/endpoints.js';
import {Engine, type ContainerInfo} from '../docker/engine.js';
import {closest} from '../docker/suggest.js';
import {FsError} from '../errors.js';
import {LocalFs} from './local-fs.js';
import {VirtualDirs} from './virtual-dirs.js';
import {CONTAINERS, HOSTS, locate} from './path.js';
import {ContainerServing} from './serving.js';
import type {ContainerFs, DirEntry, Stat} from './types.js';
import type {Refusal} from './untrusted.js';

/** A filesystem that holds a container's process (LocalFs, AgentFs): retired when that process
 *  changes; `successor` finds the container's filesystem as it is now (for cleaning up after work
 *  the retirement cut short). */
interface Retirable {
  retire(successor?: () => Promise<ContainerFs | undefined>): void;
}

/**
 * The containers of the namespace with their state: what /containers (and /hosts/<context>) list.
 * Its readers (ls -l, completion, the prompt, the mount) ask the namespace, never an engine: one
 * listing a line (or, live, one that follows the engine's events).
 */
export interface ContainerSource {
  /** The containers of the current engine, or of context `endpoint` (/hosts/<endpoint>). */
  containers(endpoint?: string): Promise<ContainerInfo[]>;
  /** Calls `listener` when a container changes (its id and the engine's action; '' and
   *  'reconnect' when anything may have); returns a function that stops it. */
  onChange(listener: (id: string, action: string) => void): () => void;
}

export type Target =
  | {readonly kind: 'containers'; readonly endpoint?: string}
  | {readonly kind: 'hosts'}
  | {readonly kind: 'fs'; readonly fs: ContainerFs; readonly path: string; readonly container?: ContainerInfo; readonly engine?: Engine};

/** Engine events after which a container's process (and so its root) is not the one we opened. */
const processChanges = new Set(['start', 'restart', 'die', 'destroy']);

/** The states in which a container's process exists (inspect's State.Running is true). */
const LIVE_STATES = new Set(['running', 'paused', 'restarting']);

/**
 * The containers of `engine`, with the state of container `id` as the engine says it now. Its list
 * can lag its events: Docker 28 still lists a container as running a few ms after its `die`
 * (seen here), so the prompt would keep the colour of a container that stopped. Inspect answers
 * from the container itself.
 */
async function listedAfter(engine: Engine, id: string): Promise<ContainerInfo[]> {
  const [list, now] = await Promise.all([engine.listContainers(), engine.processOf(id).catch(() => undefined)]);
  if (!now) return list;
  return list.map((c) => (c.id !== id || LIVE_STATES.has(c.state) === now.running ? c : {...c, state: now.running ? 'running' : 'exited'}));
}

const virtualDirStat: Stat = {dev: 0, ino: 1, mode: 0o040555, nlink: 2, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096,
  blocks: 0, atime: {sec: 0, nsec: 0}, mtime: {sec: 0, nsec: 0}, ctime: {sec: 0, nsec: 0}};

export interface NamespaceOptions {
  /** How long the engine driver reuses a listing (EngineFs); by default for the life of a
   *  filesystem, which the shell forgets at each line (refresh). */
  readonly listingTtlMs?: number;
  /** What serves host paths: the host's own filesystem, unless a test gives another (an
   *  in-memory one, so builtins run without the host or an engine). */
  readonly host?: ContainerFs;
}

export class Namespace implements ContainerSource {
  readonly host: ContainerFs;
  /** Which tree serves each container (one decision per container until its process changes). */
  readonly serving = new ContainerServing();
  /** Container lists by endpoint name (the current one included). */
  private readonly lists = new Map<string, Promise<ContainerInfo[]>>();
  private readonly engines = new Map<string, Engine>();
  private endpoints: Endpoint[] | undefined;
  /** Image and volume lists by endpoint name and kind. */
  private readonly storedLists = new Map<string, Promise<{name: string; id: string}[]>>();
  /** Filesystems opened this line, by container id. */
  private readonly open = new Map<string, Promise<ContainerFs>>();
  /** Called when live() sees a container change (id, action). */
  private readonly listeners = new Set<(id: string, action: string) => void>();
  /** Called when a container's filesystem refuses a forged answer (the mount logs it). */
  private readonly refusalListeners = new Set<(container: ContainerInfo, refusal: Refusal) => void>();

  onRefusal(listener: (container: ContainerInfo, refusal: Refusal) => void): () => void {
    this.refusalListeners.add(listener);
    return () => this.refusalListeners.delete(listener);
  }

  onChange(listener: (id: string, action: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  constructor(readonly engine: Engine, private readonly options: NamespaceOptions = {}) {
    this.host = options.host ?? LocalFs.host();
    this.engines.set(engine.endpoint.name, engine);
  }

  /** Every endpoint (the docker CLI's contexts): the entries of /hosts (readdir gives each its endpoint). */
  private allEndpoints(): Endpoint[] {
    this.endpoints ??= listEndpoints();
    if (!this.endpoints.some((e) => e.name === this.engine.endpoint.name)) this.endpoints.push(this.engine.endpoint);
    return this.endpoints;
  }

  /** The engine of /hosts/<name>, or the current one. */
  engineFor(name: string | undefined, virtualPath: string): Engine {
    if (name === undefined) return this.engine;
    let engine = this.engines.get(name);
    if (!engine) {
      const endpoint = this.allEndpoints().find((e) => e.name === name);
      if (!endpoint) throw new FsError('ENOENT', virtualPath, `(no context '${name}')`);
      engine = new Engine(endpoint);
      this.engines.set(name, engine);
    }
    return engine;
  }

  /** Forgets what the last command line learnt (container list, open roots, listings). */
  refresh(): void {
    this.lists.clear();
    this.storedLists.clear();
    for (const id of [...this.open.keys()]) this.forget(id);
    this.serving.clear();
  }

  /** Forgets one container's filesystem (its process changed or it went away): a local root is
   *  retired, so a line still holding it fails cleanly instead of writing through a reused fd; what
   *  that line must still clean up (a copy's temporary) it removes through successorOf. */
  forget(key: string): void {
    const fs = this.open.get(key);
    this.open.delete(key);
    this.serving.drop(key);
    void fs?.then((f) => (f as Partial<Retirable>).retire?.(() => this.successorOf(key)), () => undefined);
  }

  /** The filesystem of the container `key` (endpoint/id) as it is now: that container, found again
   *  by its id (never another), its driver chosen again (a new root is proven again); undefined
   *  once it is gone. */
  private async successorOf(key: string): Promise<ContainerFs | undefined> {
    const at = key.lastIndexOf('/');
    const engine = this.engines.get(key.slice(0, at));
    const container = engine && (await engine.listContainers()).find((c) => c.id === key.slice(at + 1));
    return container && engine ? this.fsFor(container, engine) : undefined;
  }

  /**
   * For long-lived users (the FUSE mount, the interactive shell): keep what was learnt, and follow
   * the engine's events to drop the container list, and a container's filesystem when its process
   * changes. When the event stream ends (the engine restarted or went away) everything is
   * forgotten and the stream is followed again, retrying with a growing delay (up to 5 s) for as
   * long as the engine is away. Resolves once the first attempt is made; returns a stop function.
   */
  async live(): Promise<() => void> {
    let stopped = false;
    let stopStream: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const changed = (id: string, action: string): void => {
      const name = this.engine.endpoint.name;
      this.lists.delete(name);
      if (id && processChanges.has(action)) {
        this.forget(`${name}/${id}`);
        const list = listedAfter(this.engine, id);
        this.lists.set(name, list);
        list.catch(() => this.lists.get(name) === list && this.lists.delete(name));
      }
      for (const l of this.listeners) l(id, action);
    };
    const follow = async (delay: number): Promise<void> => {
      if (stopped) return;
      try {
        stopStream = await this.engine.watchContainers(changed, () => {
          this.refresh();
          changed('', 'reconnect');
          retry(250);
        });
        if (delay > 250) { // reconnected after a failure: what happened meanwhile is unknown
          this.refresh();
          changed('', 'reconnect');
        }
      } catch {
        retry(Math.min(delay * 2, 5000));
      }
    };
    const retry = (delay: number): void => {
      if (stopped) return;
      timer = setTimeout(() => void follow(delay), delay);
      timer.unref();
    };
    await follow(250);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      stopStream();
    };
  }

  containers(endpoint?: string): Promise<ContainerInfo[]> {
    return this.listOf(this.engineFor(endpoint, endpoint === undefined ? CONTAINERS : `${HOSTS}/${endpoint}`));
  }

  /** The containers of `engine`, listed once a line (or until an event says otherwise). */
  private listOf(engine: Engine): Promise<ContainerInfo[]> {
    let list = this.lists.get(engine.endpoint.name);
    if (!list) {
      list = engine.listContainers();
      this.lists.set(engine.endpoint.name, list);
      list.catch(() => this.lists.delete(engine.endpoint.name));
    }
    return list;
  }

  /** Finds a container by exact name, else by unique id prefix. */
  async findContainer(ref: string, virtualPath: string, engine: Engine = this.engine): Promise<ContainerInfo> {
    const all = await this.listOf(engine);
    const byName = all.find((c) => c.name === ref);
    if (byName) return byName;
    const byId = all.filter((c) => c.id.startsWith(ref));
    if (byId.length === 1 && ref.length >= 2) return byId[0]!;
    const guess = closest(ref, all.map((c) => c.name));
    throw new FsError('ENOENT', virtualPath, `(no container '${ref}'${guess ? `; did you mean '${guess}'?` : ''})`);
  }

  fsFor(container: ContainerInfo, engine: Engine = this.engine): Promise<ContainerFs> {
    const key = ContainerServing.key(container, engine);
    let fs = this.open.get(key);
    if (!fs) {
      fs = this.chooseDriver(container, engine);
      this.open.set(key, fs);
    }
    return fs;
  }

  /** `stoppedSince`: listed as running, the engine says since that it is not (see below). */
  private async chooseDriver(container: ContainerInfo, engine: Engine, stoppedSince = false): Promise<ContainerFs> {
    const serving = stoppedSince ? {} : await this.serving.serving(container, engine);
    const {pid, root} = serving;
    if (root) return LocalFs.adopt(root, `/containers/${container.name}`);
    // Listed as running, stopped since (killed as a command began): served as the stopped
    // container it is now, not as a running one through the archive API file by file.
    const state = stoppedSince || serving.stopped ? 'exited' : container.state;
    // Loaded on first use: tar handling is only needed for stopped or remote containers.
    const viaArchive = async (why?: string, said = false): Promise<ContainerFs> => {
      if (why !== undefined && !said) (await import('../agent/session.js')).notice(`container ${container.id.slice(0, 12)} is served through the archive API: ${why}`);
      const {EngineFs} = await import('./engine-fs.js');
      const fs = new EngineFs(engine, container.id, state === 'running', this.options.listingTtlMs);
      fs.refusals.listen((r) => {
        for (const l of this.refusalListeners) l(container, r);
      });
      return fs;
    };
    if (process.env['DBOX_AGENT'] !== '0') {
      const [{AgentFs}, {agentOf}, {HeldRoot, ProcessRoot}, {LayersRoot, StoppedRoot}] = await Promise.all([import('./agent-fs.js'),
        import('../agent/session.js'), import('../agent/roots.js'), import('../agent/layer-roots.js')]);
      if (pid !== undefined) {
        return new AgentFs(agentOf(engine), container.id, new ProcessRoot(pid, container.id), async (why, said) => {
          // The agent could not prove its process: gone since (the container stopped), or never its.
          const now = await engine.processOf(container.id).catch(() => undefined);
          return now?.running === false ? this.chooseDriver(container, engine, true) : viaArchive(why, said);
        });
      }
      // A stopped one: read from its layers, assembled read-only by the agent; written on its
      // filesystem as the engine mounts it for an archive upload held open, which makes a start
      // wait meanwhile (agent/layer-roots.ts). Both asked of the engine now, before any hold.
      const stopped = (state === 'created' || state === 'exited') && engine.canHoldRootfs;
      const [merged, layers] = stopped ? await Promise.all([engine.mergedDir(container.id).catch(() => undefined),
        engine.layersOf('containers', container.id).catch(() => undefined)]) : [undefined, undefined];
      if (merged && layers) {
        const root = new StoppedRoot(new LayersRoot(async () => ({kind: 'read-only', ...layers}), `container ${container.name}`),
          new HeldRoot(engine, container.id, merged));
        return new AgentFs(agentOf(engine), container.id, root, viaArchive);
      }
    }
    return viaArchive();
  }

  /** The current engine's images (repo:tag) or volumes, once per line. */
  private stored(kind: 'images' | 'volumes'): Promise<{name: string; id: string}[]> {
    const key = `${this.engine.endpoint.name}/.${kind}`;
    let list = this.storedLists.get(key);
    if (!list) {
      list = kind === 'images'
        ? this.engine.listImages().then((l) => l.map((i) => ({name: i.ref, id: i.id.slice('sha256:'.length)})))
        : this.engine.listVolumes().then((l) => l.map((name) => ({name, id: name})));
      this.storedLists.set(key, list);
      list.catch(() => this.storedLists.delete(key));
    }
    return list;
  }

  /**
   * /images/<repo:tag>/… (read-only) and /volumes/<name>/… (read-write): their files through the
   * agent, from the engine's own directories (agent/layer-roots.ts); the directories above them
   * (/images, /images/<registry or namespace>, /volumes) are virtual. An image's name may hold '/':
   * the longest run of components that names one is the image.
   */
  private async storedTarget(kind: 'images' | 'volumes', parts: readonly string[]): Promise<Target> {
    const dirs = new VirtualDirs(async () => (await this.stored(kind)).map((i) => i.name));
    if (parts.length === 0) return {kind: 'fs', fs: dirs, path: '/'};
    const list = await this.stored(kind);
    for (let n = parts.length; n >= 1; n--) {
      const name = parts.slice(0, n).join('/');
      const item = list.find((i) => i.name === name);
      if (item) return {kind: 'fs', fs: await this.storedFs(kind, item), path: '/' + parts.slice(n).join('/')};
    }
    // A volume named in the path that the list left out (Docker 20.10 now and then lists none).
    if (kind === 'volumes' && await this.engine.hasVolume(parts[0]!)) {
      return {kind: 'fs', fs: await this.storedFs(kind, {name: parts[0]!, id: parts[0]!}), path: '/' + parts.slice(1).join('/')};
    }
    return {kind: 'fs', fs: dirs, path: '/' + parts.join('/')};
  }

  private storedFs(kind: 'images' | 'volumes', item: {name: string; id: string}): Promise<ContainerFs> {
    const engine = this.engine;
    const key = `${engine.endpoint.name}/.${kind}/${item.id}`;
    let fs = this.open.get(key);
    if (!fs) {
      fs = (async () => {
        const [{AgentFs}, {agentOf}, {LayersRoot}] = await Promise.all([import('./agent-fs.js'), import('../agent/session.js'),
          import('../agent/layer-roots.js')]);
        const what = `${kind === 'images' ? 'image' : 'volume'} ${item.name}`;
        const spec = kind === 'images'
          ? async () => {
            const l = await engine.layersOf('images', item.id);
            return l && {kind: 'read-only' as const, ...l};
          }
          : async () => {
            const v = await engine.volumeDir(item.name);
            return v && {kind: 'directory' as const, dataRoot: v.dataRoot, layers: [v.dir]};
          };
        const virtualPath = `/${kind}/${item.name}`;
        return new AgentFs(agentOf(engine), item.id, new LayersRoot(spec, what), async (why) => {
          throw new FsError('EOPNOTSUPP', virtualPath, `(${what} is reached only through the dbox agent: ${why})`);
        });
      })();
      this.open.set(key, fs);
    }
    return fs;
  }

  async resolve(virtualPath: string): Promise<Target> {
    const loc = locate(virtualPath);
    switch (loc.kind) {
      case 'host':
        return {kind: 'fs', fs: this.host, path: loc.path};
      case 'containers':
        if (loc.endpoint === undefined) return {kind: 'containers'};
        this.engineFor(loc.endpoint, virtualPath);
        return {kind: 'containers', endpoint: loc.endpoint};
      case 'hosts':
        return {kind: 'hosts'};
      case 'images':
      case 'volumes':
        return this.storedTarget(loc.kind, loc.parts);
      case 'container': {
        const engine = this.engineFor(loc.endpoint, virtualPath);
        const container = await this.findContainer(loc.name, virtualPath, engine);
        return {kind: 'fs', fs: await this.fsFor(container, engine), path: loc.path, container, engine};
      }
    }
  }

  async stat(virtualPath: string): Promise<Stat> {
    const t = await this.resolve(virtualPath);
    return t.kind === 'fs' ? t.fs.stat(t.path) : virtualDirStat;
  }

  async lstat(virtualPath: string): Promise<Stat> {
    const t = await this.resolve(virtualPath);
    return t.kind === 'fs' ? t.fs.lstat(t.path) : virtualDirStat;
  }

  async readdir(virtualPath: string): Promise<DirEntry[]> {
    const t = await this.resolve(virtualPath);
    if (t.kind === 'containers') {
      return (await this.listOf(this.engineFor(t.endpoint, virtualPath))).map((c) => ({name: c.name, type: 'dir' as const, container: c}));
    }
    if (t.kind === 'hosts') return this.allEndpoints().map((e) => ({name: e.name, type: 'dir' as const, endpoint: e}));
    const entries = await t.fs.readdir(t.path);
    // The host's root shows the virtual /containers and /hosts too (ls /, cd /cont<Tab>).
    if (t.fs === this.host && t.path === '/') {
      const virtual = ['containers', 'hosts', 'images', 'volumes'].filter((n) => !entries.some((e) => e.name === n));
      return [...entries, ...virtual.map((name) => ({name, type: 'dir' as const, stat: virtualDirStat}))];
    }
    return entries;
  }
}
