// attach: a host directory (the toolbox by default) appears at --at inside a running container,
// a shell or command runs there in all of the container's namespaces, and everything is removed
// when it ends. This module chooses the method and speaks to its runner: mount-api and blockdev
// run in the C helper (native/attach.c, which proves the process, mounts read-only and keeps the
// state) on this machine; helper runs the same steps on the engine's host, in a short-lived
// container (helper-container.ts), with the terminal carried by the engine's hijacked connection
// (terminal-bridge.ts); upload copies through the container's filesystem driver (upload.ts) and
// runs the command as an exec over that same bridge. A stopped container or an image gets a
// snapshot of its layers (snapshot.ts).
//
// What is trusted, and why: the user's arguments (normalised here: an absolute target other than
// "/"); the engine's pid only as a claim the helper proves (native/identity.h); the state only as
// the helper validates it (native/attach-state.h).
import fs from 'node:fs';
import {closest} from '../docker/suggest.js';
import type {ContainerInfo} from '../docker/engine.js';
import {engineArch} from '../docker/agent-container.js';
import {processFromInspect} from '../docker/validate.js';
import {attachHelper as helper, dboxLauncher} from '../self.js';
import type {Capture, RunOptions} from '../shell/context.js';
import {FsError} from '../errors.js';
import type {Namespace} from '../vfs/namespace.js';
import {normalize} from '../vfs/path.js';
import {AttachState} from './state.js';
import {AttachError, ensureToolbox} from './toolbox.js';
import {helperCaps, makeHelper, makeSnapshotHelper, removeHelper, removeStaleHelpers} from './helper-container.js';
import {BRIDGE_ENV, type BridgeSpec} from './terminal-bridge.js';
import {HELPER_DATA_ROOT, layersAt, runSnapshot, snapshotArgs, snapshotId, snapshotLayers} from './snapshot.js';
import {removeUpload, upload, type UploadTarget} from './upload.js';

export type Method = 'auto' | 'mount-api' | 'blockdev' | 'helper' | 'upload';

export interface AttachRequest {
  readonly container: string;
  readonly hostDir?: string;
  readonly at: string;
  readonly method: Method;
  readonly command: readonly string[];
  readonly verbose: boolean;
  /** A throw-away snapshot of the layers (the default, and the only way, for a stopped container or an image). */
  readonly snapshot?: boolean;
}

export interface AttachIo {
  readonly ns: Namespace;
  readonly env: NodeJS.ProcessEnv;
  readonly stderr: NodeJS.WritableStream;
  /** Runs the helper or `docker exec` with the caller's terminal (ShellContext.run). */
  readonly run: (program: string, args: readonly string[], options?: RunOptions) => Promise<number>;
  /** Runs the helper with its output collected (ShellContext.capture): its state, a cleanup. */
  readonly capture: Capture;
  /** Whether the caller's stdin is a terminal (`docker exec -it` or `-i`). */
  readonly stdinIsTTY: boolean;
}

const EXIT_UNSUPPORTED = 124;
const EXIT_ATTACH = 125;

/** The target as the helper and the state accept it: absolute, normalised, not "/". */
function targetPath(at: string): string {
  if (!at.startsWith('/')) throw new AttachError(`--at ${at}: must be an absolute path`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(at)) throw new AttachError('--at: control characters are not allowed');
  const target = normalize(at);
  if (target === '/') throw new AttachError('--at /: must be a directory below the container\'s root');
  return target;
}

async function runningContainer(io: AttachIo, name: string): Promise<ContainerInfo> {
  const c = await io.ns.findContainer(name, name).catch(async (e: unknown) => {
    if (!(e instanceof FsError)) throw e;
    const guess = closest(name, (await io.ns.containers()).map((x) => x.name));
    throw new AttachError(`no such container: ${name}${guess ? ` (did you mean '${guess}'?)` : ''}`);
  });
  if (c.state !== 'running') throw new AttachError(`container '${c.name}' is not running (start it with: docker start ${c.name})`);
  return c;
}

async function pidOf(io: AttachIo, id: string): Promise<number> {
  const pid = await io.ns.engine.pidOf(id);
  if (pid === undefined) throw new AttachError('the container stopped');
  return pid;
}

async function uploadTarget(io: AttachIo, c: ContainerInfo): Promise<UploadTarget> {
  return {id: c.id, name: c.name, fs: await io.ns.fsFor(c), engine: io.ns.engine, state: new AttachState(io.capture)};
}

/** The container named (in any state), or else the image of that reference. */
async function findTarget(io: AttachIo, name: string): Promise<{container: ContainerInfo} | {image: unknown}> {
  try {
    return {container: await io.ns.findContainer(name, name)};
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    const image = await io.ns.engine.inspectRaw('images', name).catch(() => undefined);
    if (image && typeof image === 'object' && typeof (image as {Id?: unknown}).Id === 'string') return {image};
    const guess = closest(name, (await io.ns.containers()).map((x) => x.name));
    throw new AttachError(`no such container or image: ${name}${guess ? ` (did you mean '${guess}'?)` : ''}`);
  }
}

export async function attach(req: AttachRequest, io: AttachIo): Promise<number> {
  const found = await findTarget(io, req.container);
  const hostDir = req.hostDir ?? await ensureToolbox(io.capture, io.env);
  const st = fs.statSync(hostDir, {throwIfNoEntry: false});
  if (!st) throw new AttachError(`${hostDir}: No such file or directory`);
  if (!st.isDirectory()) throw new AttachError(`${hostDir}: Not a directory`);
  const at = targetPath(req.at);
  const engine = io.ns.engine;
  const root = process.getuid?.() === 0;
  const local = engine.sharesPids();
  const container = 'container' in found ? found.container : undefined;
  if (!container || container.state !== 'running' || req.snapshot) {
    return attachSnapshot(io, req, container, container ? undefined : (found as {image: unknown}).image, hostDir, at);
  }
  const c = container;
  const methods: Method[] = req.method !== 'auto' ? [req.method] : local && root ? ['mount-api', 'blockdev', 'upload'] : ['helper', 'upload'];
  if ((req.method === 'mount-api' || req.method === 'blockdev') && !root) {
    throw new AttachError(`the ${req.method} method needs root (CAP_SYS_ADMIN to enter the container's mount namespace)`);
  }
  if ((req.method === 'mount-api' || req.method === 'blockdev') && !local) {
    throw new AttachError(`the ${req.method} method needs the engine on this machine (${engine.endpoint.address} is remote); use --method helper or upload`);
  }
  const command = req.command.length > 0 ? [...req.command] : [`${at}/bin/sh`];
  for (const method of methods) {
    if (req.verbose) io.stderr.write(`attach: ${c.name}: trying ${method}\n`);
    const status = method === 'upload'
      ? await upload(await uploadTarget(io, c), io.ns.host, hostDir, at, command,
        (cmd, env) => bridged(io, {exec: {id: c.id, cmd, env}}), await pathOf(io, c))
      : method === 'helper'
        ? await viaHelper(io, c, hostDir, at, command, req)
        : await io.run(helper, ['inject', '--pid', String(await pidOf(io, c.id)), '--id', c.id, '--source', hostDir, '--target', at,
          '--method', method, '--', ...command]);
    if (status === EXIT_UNSUPPORTED && req.method === 'auto') continue;
    if (req.verbose && status !== EXIT_UNSUPPORTED && status !== EXIT_ATTACH) io.stderr.write(`attach: ${c.name}: used ${method}\n`);
    return status;
  }
  throw new AttachError('no attach method works here');
}

/**
 * attach to a stopped container or an image (or --snapshot): a throw-away snapshot of its layers
 * (snapshot.ts), made here as root with the engine on this machine, else by a helper container on
 * the engine's host.
 */
async function attachSnapshot(io: AttachIo, req: AttachRequest, container: ContainerInfo | undefined, image: unknown, hostDir: string,
  at: string): Promise<number> {
  const engine = io.ns.engine;
  const what = container ? `container '${container.name}'` : `image '${req.container}'`;
  if (container?.state === 'running') {
    throw new AttachError(`--snapshot: ${what} is running, and its layer would change under a snapshot: attach without --snapshot`);
  }
  if (req.verbose) io.stderr.write(`attach: ${what}: a snapshot of its layers (changes are discarded)\n`);
  const info = container ? await engine.inspectRaw('containers', container.id) : image;
  const command = req.command.length > 0 ? req.command : [`${at}/bin/sh`];
  const set = snapshotLayers(info, await engine.dataRoot());
  if (process.getuid?.() === 0 && engine.sharesPids()) return runSnapshot(io, info, set, hostDir, at, command);
  // Not root here, or the layers are on another machine: the snapshot runs on the engine's host, in a helper container.
  const id = snapshotId(info);
  return runHelper(io, () => makeSnapshotHelper(engine, {id, dataRoot: set.dataRoot, toolbox: hostDir, tty: io.stdinIsTTY,
    args: snapshotArgs(info, layersAt(set, HELPER_DATA_ROOT), '/toolbox', at, command)}), (why) => {
    throw new AttachError(`${what} ${container ? 'is not running' : 'is an image'}: no helper can make a snapshot of its layers on ` +
      `${engine.label}: ${why}${container ? ` (start it with: docker start ${container.name})` : ''}`);
  });
}

/** The container's configured PATH (for the exec of the upload method); engine JSON, so only a string of bounded length. */
async function pathOf(io: AttachIo, c: ContainerInfo): Promise<string> {
  const env = (await io.ns.engine.inspectRaw('containers', c.id) as {Config?: {Env?: unknown}} | null)?.Config?.Env;
  const path = Array.isArray(env) ? env.find((e): e is string => typeof e === 'string' && e.startsWith('PATH='))?.slice(5) : undefined;
  return path !== undefined && path.length < 4096 && !path.includes('\0') ? path : '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
}

/** Runs a program of the engine's (an exec, or the helper container) with the caller's terminal, through the bridge. */
function bridged(io: AttachIo, target: BridgeSpec['target']): Promise<number> {
  const spec: BridgeSpec = {endpoint: io.ns.engine.endpoint, target, tty: io.stdinIsTTY};
  return io.run(process.execPath, [dboxLauncher, '--attach-bridge'], {env: {...io.env, [BRIDGE_ENV]: JSON.stringify(spec)}});
}

/**
 * A helper container on the engine's host (helper-container.ts), made by `make` and run with the
 * caller's terminal through the bridge; removed whatever happens. `unsupported` is called with why
 * no helper can run there (another platform; an engine that refuses its container: a rootless
 * engine cannot give CAP_SYS_ADMIN over its host, for one).
 */
async function runHelper(io: AttachIo, make: () => Promise<string>, unsupported: (why: string) => number): Promise<number> {
  const engine = io.ns.engine;
  const {os, arch} = await engine.platform();
  if (os !== 'linux' || arch !== engineArch[process.arch]) {
    return unsupported(`the engine runs ${os || '?'}/${arch || '?'}, the helper is built for linux/${engineArch[process.arch] ?? process.arch}`);
  }
  await removeStaleHelpers(engine);
  let id: string;
  try {
    id = await make();
  } catch (error) {
    if (error instanceof AttachError) throw error;
    const {engineWords} = await import('../docker/agent-container.js');
    return unsupported(`the engine refused its container (${engineWords(error)})`);
  }
  try {
    return await bridged(io, {container: id});
  } finally {
    await removeHelper(engine, id);
  }
}

/** attach --method helper: the toolbox mounted by a helper container on the engine's host; 124 (so `auto` tries upload) when none can run. */
async function viaHelper(io: AttachIo, c: ContainerInfo, hostDir: string, at: string, command: readonly string[], req: AttachRequest): Promise<number> {
  const engine = io.ns.engine;
  return runHelper(io, async () => {
    const info = await engine.inspectRaw('containers', c.id);
    const {pid} = processFromInspect(info);
    if (pid === undefined) throw new AttachError('the container stopped');
    return makeHelper(engine, {id: c.id, pid, caps: helperCaps(info), toolbox: hostDir, at, command, tty: io.stdinIsTTY});
  }, (why) => {
    if (req.method === 'helper') throw new AttachError(`no helper can run on ${engine.label}: ${why}`);
    if (req.verbose) io.stderr.write(`attach: ${c.name}: helper: ${why}\n`);
    return EXIT_UNSUPPORTED;
  });
}

export interface Cleaned {
  /** Mounts and directories removed. */
  readonly removed: number;
  /** What could not be removed safely (the helper said what, on stderr). */
  readonly left: number;
}

/** Removes what a killed attach left in the container: only what it can prove is attach's. */
export async function cleanup(name: string, hostDir: string | undefined, at: string, io: AttachIo): Promise<Cleaned> {
  const c = await runningContainer(io, name);
  const store = new AttachState(io.capture);
  const {state} = await store.read(c.id);
  if (state?.method === 'upload') {
    const outcome = await removeUpload(await uploadTarget(io, c), state.target, state.token);
    if (outcome === 'foreign') io.stderr.write(`attach: left ${state.target} in ${c.name}: it is not the uploaded copy (no marker of it)\n`);
    await store.forget(c.id);
    return {removed: outcome === 'removed' ? 1 : 0, left: outcome === 'foreign' ? 1 : 0};
  }
  // Mounts made from this machine are root's on the engine's own machine; elsewhere a helper
  // container made them, and what it holds goes with it: nothing of it is recorded here.
  if (process.getuid?.() !== 0 || !io.ns.engine.sharesPids()) {
    io.stderr.write(`attach: a toolbox mounted by a helper container that was killed is not recorded here; it goes when ${c.name} stops\n`);
    return {removed: 0, left: 0};
  }
  // An invalid state file is reported, removed and ignored by the helper's cleanup.
  const target = state?.target ?? targetPath(at);
  const args = ['cleanup', '--pid', String(await pidOf(io, c.id)), '--id', c.id, '--target', target];
  if (!state) {
    // No record: a mount of the directory at the target itself, and the target only if the
    // engine says the container did not have it (and only if empty: the helper only rmdirs).
    args.push('--source', hostDir ?? await ensureToolbox(io.capture, io.env));
    const changes = (await (await io.ns.engine.container(c.id)).changes()) as {Path: string; Kind: number}[] | null;
    if ((changes ?? []).some((ch) => ch.Path === target && ch.Kind === 1)) args.push('--created', target);
  }
  const r = await io.capture(helper, args);
  io.stderr.write(r.stderr);
  const counts = /^(\d+) (\d+) (\d+) (\d+)\n$/.exec(r.stdout);
  if (r.status !== 0 || !counts) throw new AttachError(`cleanup of ${c.name} failed${r.error !== undefined ? ` (${r.error})` : ''}`);
  return {removed: Number(counts[1]) + Number(counts[2]), left: Number(counts[3]) + Number(counts[4])};
}
