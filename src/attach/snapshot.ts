// attach to a stopped container or an image: a snapshot (native/attach-snapshot.c runs it). Its
// root is an overlay of the engine's own layer directories with a throw-away upper layer, the
// toolbox beside it, in fresh namespaces; every change made inside is gone when the program ends.
// This is the default, and the only way, for a stopped container: writing into its own layer
// while the engine may start it (and mount that layer itself) would give both mounts undefined
// overlay behaviour, so dbox never does; `docker start` and attach keep changes. `--snapshot`
// says so explicitly, and is refused for a running container (its layer changes under the
// snapshot).
//
// What is trusted, and why: the engine's inspect answer is not. The layer list is taken only from
// an overlay2 GraphDriver whose every path is of overlay2's own shape below the engine's data
// root (src/docker/layers.ts, the one check, shared with the agent); native/layers.c (the one C
// owner, shared too) then opens each without following links, on the data root's mount, and
// refuses any whose directories are not root's alone. The environment, working directory and hostname are strings
// for the program inside, bounded and checked here. As root with the engine on this machine the
// snapshot runs here; otherwise in a helper container on the engine's host (helper-container.ts).
import {layerDirs, type LayerSet} from '../docker/layers.js';
import {validContainerId} from '../docker/validate.js';
import {snapshotHelper} from '../self.js';
import {AttachError} from './toolbox.js';

/** The layer directories of an inspect answer (a container's or an image's) under the engine's data root, top first; why not, as an error. */
export function snapshotLayers(info: unknown, dataRoot: string | undefined): LayerSet {
  const r = layerDirs(info, dataRoot);
  if ('why' in r) throw new AttachError(r.why.startsWith('the engine\'s storage driver') ? `${r.why}: no snapshot can be made of its layers` : r.why);
  return r;
}

export interface SnapshotConfig {
  readonly env: string[];
  readonly workdir: string;
  readonly hostname: string;
}

/** The environment (PATH led by the toolbox's bin), working directory and hostname for the program, from Config. */
export function snapshotConfig(info: unknown, at: string): SnapshotConfig {
  const config = (info as {Config?: {Env?: unknown; WorkingDir?: unknown; Hostname?: unknown}} | null)?.Config;
  // eslint-disable-next-line no-control-regex
  const clean = (s: unknown, max: number): s is string => typeof s === 'string' && s.length <= max && !/[\u0000]/.test(s);
  const env = (Array.isArray(config?.Env) ? config.Env : []).filter((e): e is string => clean(e, 32_768) && /^[^=]+=/.test(e)).slice(0, 200);
  const path = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const withPath = [...env.filter((e) => !e.startsWith('PATH=')), `PATH=${at}/bin:${path}`];
  const wd = config?.WorkingDir;
  // eslint-disable-next-line no-control-regex
  const workdir = clean(wd, 4096) && wd.startsWith('/') && !/[\u0000-\u001f]/.test(wd) ? wd : '/';
  const hn = config?.Hostname;
  const hostname = typeof hn === 'string' && /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(hn) ? hn : 'snapshot';
  return {env: withPath, workdir, hostname};
}

/** Where a helper container has the engine's data root bound (makeSnapshotHelper). */
export const HELPER_DATA_ROOT = '/engine';

/** The same layers seen where the data root is bound at `at` (a helper container's HELPER_DATA_ROOT). */
export function layersAt(set: LayerSet, at: string): LayerSet {
  return {dataRoot: at, layers: set.layers.map((l) => at + l.slice(set.dataRoot.length))};
}

/** The helper's arguments for a snapshot of `set`'s layers (`info`'s, checked by snapshotLayers). */
export function snapshotArgs(info: unknown, set: LayerSet, hostDir: string, at: string, command: readonly string[]): string[] {
  const {env, workdir, hostname} = snapshotConfig(info, at);
  return ['run', '--data-root', set.dataRoot, ...set.layers.flatMap((l) => ['--layer', l]), '--source', hostDir, '--target', at, '--hostname', hostname,
    '--workdir', workdir, ...env.flatMap((e) => ['--env', e]), '--', ...command];
}

export interface SnapshotIo {
  readonly run: (program: string, args: readonly string[]) => Promise<number>;
}

/** The id of an inspect answer: a container's (64 hex digits) or an image's (sha256:…). */
export function snapshotId(info: unknown): string {
  const id = (info as {Id?: unknown} | null)?.Id;
  if (typeof id !== 'string' || !(validContainerId(id) || /^sha256:[0-9a-f]{64}$/.test(id))) throw new AttachError('the engine answered without a valid id');
  return id;
}

/** Runs `command` in a snapshot of a container's or an image's layers (`set`, from snapshotLayers), on this machine; its status. */
export async function runSnapshot(io: SnapshotIo, info: unknown, set: LayerSet, hostDir: string, at: string, command: readonly string[]): Promise<number> {
  snapshotId(info);
  return io.run(snapshotHelper, snapshotArgs(info, set, hostDir, at, command));
}
