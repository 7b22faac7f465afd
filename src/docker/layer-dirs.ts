// The layer directories of a container or an image, from the engine's inspect answer (overlay2's
// GraphDriver), for assembling its filesystem from them (attach's snapshots, native/layers.h; any
// other assembly of layers may use it). The answer is hostile: only absolute, normalised paths of
// overlay2's own shape (`…/overlay2/<64 hex digits>[-init]/diff`), without the characters overlay
// options are separated by (`:` and `,`), each at most once, at most LAYERS_MAX of them. That a
// directory is really the engine's is checked where it is opened (native/layers.c: no link
// followed, root's alone).
export const LAYERS_MAX = 128; // native/layers.h's LAYERS_MAX

const LAYER = /^(?:\/[^/\0:,]+)*\/overlay2\/[0-9a-f]{64}(?:-init)?\/diff$/;

/** The layer directories, top first (the container's own, then its image's); or why there are none to use. */
export function layerDirs(info: unknown): {dirs: string[]} | {why: string} {
  const g = (info as {GraphDriver?: {Name?: unknown; Data?: {UpperDir?: unknown; LowerDir?: unknown}}} | null)?.GraphDriver;
  if (g?.Name !== 'overlay2') return {why: `the engine's storage driver is ${typeof g?.Name === 'string' ? g.Name.slice(0, 32) : 'unknown'}, not overlay2`};
  const upper = g.Data?.UpperDir;
  const lower = g.Data?.LowerDir;
  if (typeof upper !== 'string' || (lower !== undefined && typeof lower !== 'string')) return {why: 'the engine named no layer directories'};
  const dirs = [upper, ...(lower ? lower.split(':') : [])];
  if (dirs.length > LAYERS_MAX) return {why: `more than ${LAYERS_MAX} layers`};
  for (const d of dirs) {
    if (d.length > 1024 || !LAYER.test(d) || d.split('/').some((p) => p === '.' || p === '..')) {
      return {why: `the engine named a layer directory that is not one of overlay2's: ${JSON.stringify(d.slice(0, 200))}`};
    }
  }
  if (new Set(dirs).size !== dirs.length) return {why: 'the engine named a layer directory twice'};
  return {dirs};
}
