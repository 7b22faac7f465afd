// Which directories of the engine's host hold an image's, a stopped container's or a volume's
// files, from the engine's JSON (GET /info DockerRootDir, GraphDriver of an inspect, a volume's
// Mountpoint): the one owner of that check, for the agent (/images, /volumes, stopped containers)
// and for attach's snapshots. Pure; unit-tested (test/unit/layers.test.ts, attach-layers.test.ts).
//
// What it trusts: nothing. Every path is the engine's word and hostile: it must be canonical and
// absolute (no empty, "." or ".." component, no ':' or ',' that overlay would split on, no NUL or
// control character), below the data root (itself canonical and not "/"), and of the one shape
// overlay2 gives it: <root>/overlay2/<64 hex digits>[-init]/diff (the layer's cache id, as moby
// names it), a volume's <root>/volumes/<name>/_data; each layer once, at most LAYERS_MAX. Where
// the two checks this replaces differed, the stricter rule of each is kept: below the data root
// (the agent's) and 64 hex digits (attach's). What passes is still only a place to look: it is
// opened with no symbolic link on the way, every directory on the way root's alone and on the
// data root's own mount (native/layers.c, the one C owner), and the kernel assembles the overlay.

export interface LayerSet {
  /** The engine's data root (DockerRootDir). */
  readonly dataRoot: string;
  /** Layer directories, top first. */
  readonly layers: readonly string[];
}

/** At most this many layers (native/layers.h LAYERS_MAX). */
export const LAYERS_MAX = 128;

// eslint-disable-next-line no-control-regex
const BAD_CHAR = /[\u0000-\u001f\u007f:,]/;

/** A canonical absolute path: "/a/b", no empty, "." or ".." component, no separator of overlay's or control character. */
export function canonicalPath(p: unknown): p is string {
  if (typeof p !== 'string' || p.length < 2 || p.length > 1024 || p[0] !== '/' || BAD_CHAR.test(p)) return false;
  return p.slice(1).split('/').every((c) => c !== '' && c !== '.' && c !== '..');
}

/** The engine's data root from GET /info, or undefined when it is not a canonical path other than "/". */
export function dataRootFromInfo(info: unknown): string | undefined {
  const root = (info as {DockerRootDir?: unknown} | null)?.DockerRootDir;
  return canonicalPath(root) ? root : undefined;
}

const LAYER_ID = /^[0-9a-f]{64}(-init)?$/;

/** Whether `dir` is <dataRoot>/overlay2/<layer id>/diff. */
function layerDir(dataRoot: string, dir: unknown): dir is string {
  if (!canonicalPath(dir) || !dir.startsWith(`${dataRoot}/overlay2/`)) return false;
  const rest = dir.slice(dataRoot.length + '/overlay2/'.length).split('/');
  return rest.length === 2 && LAYER_ID.test(rest[0]!) && rest[1] === 'diff';
}

const shown = (s: string): string => JSON.stringify(s.slice(0, 200));

/**
 * The layers of an inspect's GraphDriver (a container's or an image's) under the engine's data
 * root: UpperDir on top, then LowerDir's entries in order. Overlay2 only; else why there are none
 * to use (a path not of its shape, a layer twice, more than LAYERS_MAX, no usable data root).
 */
export function layerDirs(inspect: unknown, dataRoot: string | undefined): LayerSet | {why: string} {
  const g = (inspect as {GraphDriver?: {Name?: unknown; Data?: Record<string, unknown> | null}} | null)?.GraphDriver;
  if (g?.Name !== 'overlay2') {
    const name = typeof g?.Name !== 'string' ? 'unknown' : /^[a-z0-9_-]{1,32}$/.test(g.Name) ? g.Name : shown(g.Name.slice(0, 32));
    return {why: `the engine's storage driver is ${name}, not overlay2`};
  }
  if (!canonicalPath(dataRoot)) return {why: 'the engine named no data root of its own'};
  const upper = g.Data && typeof g.Data === 'object' ? g.Data['UpperDir'] : undefined;
  const lower = g.Data && typeof g.Data === 'object' ? g.Data['LowerDir'] : undefined;
  if (typeof upper !== 'string' || (lower !== undefined && typeof lower !== 'string')) return {why: 'the engine named no layer directories'};
  if (typeof lower === 'string' && lower.length > 128 * 1024) return {why: `more than ${LAYERS_MAX} layers`};
  const layers = [upper, ...(typeof lower === 'string' && lower !== '' ? lower.split(':') : [])];
  if (layers.length > LAYERS_MAX) return {why: `more than ${LAYERS_MAX} layers`};
  const bad = layers.find((l) => !layerDir(dataRoot, l));
  if (bad !== undefined) return {why: `the engine named a layer directory that is not one of overlay2's: ${shown(bad)} (data root ${shown(dataRoot)})`};
  if (new Set(layers).size !== layers.length) return {why: 'the engine named a layer directory twice'};
  return {dataRoot, layers};
}

/** A local volume's directory (<dataRoot>/volumes/<name>/_data) from its inspect, else undefined. */
export function volumeDirFromInspect(volume: unknown, dataRoot: string): string | undefined {
  const v = volume as {Driver?: unknown; Name?: unknown; Mountpoint?: unknown; Options?: unknown} | null;
  if (v?.Driver !== 'local' || typeof v.Name !== 'string' || !canonicalPath(dataRoot)) return undefined;
  // A volume with options (a bind of another directory, NFS…) has its files elsewhere, mounted only while used.
  if (v.Options !== null && v.Options !== undefined && (typeof v.Options !== 'object' || Object.keys(v.Options).length > 0)) return undefined;
  const dir = v.Mountpoint;
  return canonicalPath(dir) && dir === `${dataRoot}/volumes/${v.Name}/_data` && validVolumeName(v.Name) ? dir : undefined;
}

/** Docker's grammar for volume names ([a-zA-Z0-9][a-zA-Z0-9_.-]+), so a name is one path component. */
export const validVolumeName = (n: unknown): n is string => typeof n === 'string' && n.length <= 255 && /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(n);

export interface ImageInfo {
  /** repo:tag, as the engine names it (may hold '/'; never '..' or an empty component). */
  readonly ref: string;
  /** sha256:<64 hex>. */
  readonly id: string;
  readonly created: number;
  readonly size: number;
}

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
// Docker's reference grammar, loosely: components of [a-z0-9._-] (a registry host may hold a port), a tag after ':'.
const IMAGE_REF = /^[a-zA-Z0-9][a-zA-Z0-9._-]*(:[0-9]{1,5})?(\/[a-z0-9][a-z0-9._-]*)*:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$/;

/** Whether `ref` is repo:tag in Docker's grammar with no '.' or '..' component (so each '/' part is a path component). */
export const validImageRef = (ref: unknown): ref is string => typeof ref === 'string' && ref.length <= 255 && IMAGE_REF.test(ref) &&
  ref.split('/').every((c) => c !== '.' && c !== '..' && !c.startsWith('..:'));

/** GET /images/json: one entry per valid repo:tag (the first image to claim one keeps it); others left out. */
export function imagesFromList(list: unknown): ImageInfo[] {
  if (!Array.isArray(list)) return [];
  const out: ImageInfo[] = [];
  const seen = new Set<string>();
  for (const entry of list) {
    const o = entry as {Id?: unknown; RepoTags?: unknown; Created?: unknown; Size?: unknown} | null;
    if (!o || !IMAGE_ID.test(String(o.Id)) || !Array.isArray(o.RepoTags)) continue;
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
    for (const ref of o.RepoTags) {
      if (!validImageRef(ref) || seen.has(ref)) continue;
      seen.add(ref);
      out.push({ref, id: o.Id as string, created: num(o.Created), size: num(o.Size)});
    }
  }
  return out;
}
