// The namespace a user sees: host paths, /containers and the containers' filesystems.
// resolve() turns a virtual path into the ContainerFs that serves it and the path inside;
// the driver is chosen per container: `local` (/proc/<pid>/root, in-root resolution) when the
// engine is on this machine, the container runs and its root can be opened; `engine` otherwise.
import type {ContainerInfo, Engine} from '../docker/engine.js';
import {closest} from '../docker/suggest.js';
import {FsError} from './errors.js';
import {LocalFs} from './local-fs.js';
import {locate} from './path.js';
import type {ContainerFs, DirEntry, Stat} from './types.js';

export type Target =
  | {readonly kind: 'containers'}
  | {readonly kind: 'hosts'}
  | {readonly kind: 'fs'; readonly fs: ContainerFs; readonly path: string; readonly container?: ContainerInfo};

const virtualDirStat: Stat = {dev: 0, ino: 1, mode: 0o040555, nlink: 2, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096,
  blocks: 0, atime: {sec: 0, nsec: 0}, mtime: {sec: 0, nsec: 0}, ctime: {sec: 0, nsec: 0}};

export class Namespace {
  readonly host = LocalFs.host();
  private list: Promise<ContainerInfo[]> | undefined;
  /** Filesystems opened this line, by container id. */
  private readonly open = new Map<string, Promise<ContainerFs>>();
  /** Called when live() sees a container change (id, action). */
  private readonly listeners = new Set<(id: string, action: string) => void>();

  onChange(listener: (id: string, action: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  constructor(readonly engine: Engine) {}

  /** Forgets what the last command line learnt (container list, open roots, listings). */
  refresh(): void {
    this.list = undefined;
    for (const id of [...this.open.keys()]) this.forget(id);
  }

  /** Forgets one container's filesystem (its process changed or it went away). */
  forget(id: string): void {
    const fs = this.open.get(id);
    this.open.delete(id);
    void fs?.then((f) => f instanceof LocalFs && f.close(), () => undefined);
  }

  /**
   * For long-lived users (the FUSE mount): keep what was learnt, and follow the engine's events to
   * drop the container list and a container's filesystem when it starts, stops, is renamed or removed.
   * Returns a stop function.
   */
  async live(): Promise<() => void> {
    let stop: () => void = () => undefined;
    const follow = async (): Promise<void> => {
      stop = await this.engine.watchContainers(
        (id, action) => {
          this.list = undefined;
          if (id) this.forget(id);
          for (const l of this.listeners) l(id, action);
        },
        () => {
          // The stream ended (engine restarted?): forget everything and follow again shortly.
          this.refresh();
          setTimeout(() => void follow().catch(() => undefined), 1000).unref();
        },
      );
    };
    await follow();
    return () => stop();
  }

  containers(): Promise<ContainerInfo[]> {
    this.list ??= this.engine.listContainers();
    return this.list;
  }

  /** Finds a container by exact name, else by unique id prefix. */
  async findContainer(ref: string, virtualPath: string): Promise<ContainerInfo> {
    const all = await this.containers();
    const byName = all.find((c) => c.name === ref);
    if (byName) return byName;
    const byId = all.filter((c) => c.id.startsWith(ref));
    if (byId.length === 1 && ref.length >= 2) return byId[0]!;
    const guess = closest(ref, all.map((c) => c.name));
    throw new FsError('ENOENT', virtualPath, `(no container '${ref}'${guess ? `; did you mean '${guess}'?` : ''})`);
  }

  fsFor(container: ContainerInfo): Promise<ContainerFs> {
    let fs = this.open.get(container.id);
    if (!fs) {
      fs = this.chooseDriver(container);
      this.open.set(container.id, fs);
    }
    return fs;
  }

  private async chooseDriver(container: ContainerInfo): Promise<ContainerFs> {
    if (this.engine.endpoint.local && container.state === 'running') {
      const pid = await this.engine.pidOf(container.id);
      if (pid !== undefined) {
        try {
          return LocalFs.open(`/proc/${pid}/root`);
        } catch {
          // not root, or the process just exited: the engine can still serve it
        }
      }
    }
    // Loaded on first use: tar handling is only needed for stopped or remote containers.
    const {EngineFs} = await import('./engine-fs.js');
    return new EngineFs(this.engine, container.id);
  }

  async resolve(virtualPath: string): Promise<Target> {
    const loc = locate(virtualPath);
    switch (loc.kind) {
      case 'host':
        return {kind: 'fs', fs: this.host, path: loc.path};
      case 'containers':
        if (loc.endpoint !== undefined) throw new FsError('ENOENT', virtualPath, '(other endpoints are not served yet)');
        return {kind: 'containers'};
      case 'hosts':
        return {kind: 'hosts'};
      case 'container': {
        if (loc.endpoint !== undefined) throw new FsError('ENOENT', virtualPath, '(other endpoints are not served yet)');
        const container = await this.findContainer(loc.name, virtualPath);
        return {kind: 'fs', fs: await this.fsFor(container), path: loc.path, container};
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
    if (t.kind === 'containers') return (await this.containers()).map((c) => ({name: c.name, type: 'dir' as const}));
    if (t.kind === 'hosts') return [];
    const entries = await t.fs.readdir(t.path);
    // The host's root shows the virtual /containers too (ls /, cd /cont<Tab>).
    if (t.fs === this.host && t.path === '/' && !entries.some((e) => e.name === 'containers')) {
      return [...entries, {name: 'containers', type: 'dir' as const, stat: virtualDirStat}];
    }
    return entries;
  }
}
