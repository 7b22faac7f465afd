// Which tree serves a container: the one policy, asked by the namespace (which driver:
// namespace.ts fsFor) and by the mount's fast path (which tree dbox-fuse serves: fuse/front.ts).
//   - a running container of an engine that shares this PID namespace, whose pid the engine gives
//     and native/identity.c proves to be that container's process (cgroup path with the
//     container's id, /proc/<pid> held across the check, not the host's root): its own root, as an
//     O_PATH descriptor of this process (`root`). The namespace serves it with the local driver,
//     the mount passes it to dbox-fuse.
//   - any other: no root here. The namespace serves it through the dbox agent (with `pid`, when
//     the engine gave one: proven on the agent's side) or the archive API; the mount through its
//     Node server, which asks the namespace.
//
// What it trusts: the engine's pid only as a number to check (validate.ts bounds it; the proof is
// the native part's, and a failed proof is "no root", never an error). One proof per container
// until its process changes (drop: the engine's start/restart/die/destroy events, or forgetting
// everything at a new command line or an engine reconnection). The descriptor is shared by
// reference count: a filesystem and a mount tree each hold a Lease, and it is closed only once
// the policy's own hold and every lease are released. So a descriptor number is never reused by
// another container's root while anything may still use it (DESIGN.md §10, handles across
// engine events).
import fs from 'node:fs';
import type {Engine, ContainerInfo} from '../docker/engine.js';
import {native} from '../native.js';

/** A share of a proven root descriptor; release() once (again: nothing). */
export interface Lease {
  readonly fd: number;
  release(): void;
}

/** How a container is served, as decided when it was asked. */
export interface Serving {
  /** The engine's pid of its process, when it runs and the engine gave one (unproven but for `root`). */
  readonly pid?: number;
  /** Its proven root, when it may be served from here; the caller releases it. */
  readonly root?: Lease;
  /** The list said it runs, but the engine, asked since, says it does not: it stopped meanwhile. */
  readonly stopped?: boolean;
}

/** A descriptor shared by reference count. */
class Shared {
  private refs = 1;
  constructor(readonly fd: number, private readonly close: (fd: number) => void) {}
  lease(): Lease {
    this.refs++;
    let released = false;
    return {fd: this.fd, release: () => {
      if (released) return;
      released = true;
      this.drop();
    }};
  }
  drop(): void {
    if (--this.refs === 0) this.close(this.fd);
  }
}

interface Decision {
  readonly pid?: number;
  readonly shared?: Shared;
  readonly stopped?: boolean;
}

/** The root of container `id`'s process `pid` when native/identity.c proves it is that container's. */
function provenRoot(pid: number, id: string): number | undefined {
  try {
    return native().openContainerRoot(pid, id);
  } catch {
    return undefined;
  }
}

export interface ServingOptions {
  /** Proves a root (tests give a fake); by default native/identity.c. */
  readonly prove?: (pid: number, id: string) => number | undefined;
  /** Closes a root no one holds any more. */
  readonly close?: (fd: number) => void;
}

export class ContainerServing {
  /** Decisions by container key (endpoint/id), each until its process changes. */
  private readonly decisions = new Map<string, Promise<Decision>>();
  private readonly prove: (pid: number, id: string) => number | undefined;
  private readonly close: (fd: number) => void;

  constructor(options: ServingOptions = {}) {
    this.prove = options.prove ?? provenRoot;
    this.close = options.close ?? ((fd) => fs.closeSync(fd));
  }

  static key(container: ContainerInfo, engine: Engine): string {
    return `${engine.endpoint.name}/${container.id}`;
  }

  /** How `container` of `engine` is served; a root in the answer is the caller's to release. */
  async serving(container: ContainerInfo, engine: Engine): Promise<Serving> {
    const key = ContainerServing.key(container, engine);
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = this.decide(container, engine);
      this.decisions.set(key, decision);
    }
    const {pid, shared, stopped} = await decision;
    // Dropped while it was decided: the root is already given up, and a new decision is due.
    if (this.decisions.get(key) !== decision) return this.serving(container, engine);
    return {pid, root: shared?.lease(), ...(stopped ? {stopped} : {})};
  }

  /** The container's process changed or went (`key`: endpoint/id): the next question proves again;
   *  the root closes once the leases given out are released. */
  drop(key: string): void {
    const decision = this.decisions.get(key);
    this.decisions.delete(key);
    void decision?.then((d) => d.shared?.drop());
  }

  /** Forgets every decision. */
  clear(): void {
    for (const key of [...this.decisions.keys()]) this.drop(key);
  }

  private async decide(container: ContainerInfo, engine: Engine): Promise<Decision> {
    if (container.state !== 'running') return {};
    const {running, pid} = await engine.processOf(container.id).catch(() => ({running: true, pid: undefined}));
    if (!running) return {stopped: true};
    if (pid === undefined || !engine.sharesPids()) return {pid};
    const fd = this.prove(pid, container.id);
    if (fd !== undefined) return {pid, shared: new Shared(fd, this.close)};
    // Not proven: its process may have ended since the engine gave its pid (the container stopped).
    const now = await engine.processOf(container.id).catch(() => undefined);
    return now?.running === false ? {stopped: true} : {pid};
  }
}
