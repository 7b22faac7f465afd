// Engine JSON is hostile input (a malicious engine, or one in another PID namespace, answers
// whatever it likes). What dbox takes from it is checked here, in one place, before anything
// else sees it (pure; unit-tested):
// - a container id is 64 lowercase hex digits, or the container is left out: ids name
//   containers in requests, in the mount's control protocol and in cgroup checks;
// - a name follows Docker's grammar ([a-zA-Z0-9][a-zA-Z0-9_.-]+); one that does not (a newline,
//   a tab, a `/`, an escape sequence) is replaced by the container's short id, so it can neither
//   inject a control line nor be a path of more than one component;
// - a state is one of the engine's states, else 'unknown' (nothing treats it as running);
// - a pid is a positive integer within Linux's pid range, else the container has no pid.
// A pid that passes is still only a number in the engine's PID namespace: whether it is the
// container's process here is proven by native/identity.c, never assumed.

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** created | running | paused | restarting | removing | exited | dead | unknown */
  readonly state: string;
  readonly status: string;
  readonly created: number;
}

const ID = /^[0-9a-f]{64}$/;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const STATES = new Set(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead']);
/** PID_MAX_LIMIT on 64-bit Linux. */
const PID_LIMIT = 4_194_304;

export const validContainerId = (id: unknown): id is string => typeof id === 'string' && ID.test(id);
export const validContainerName = (name: unknown): name is string => typeof name === 'string' && name.length <= 255 && NAME.test(name);

const text = (v: unknown, max = 1024): string => (typeof v === 'string' ? v.slice(0, max) : '');

/** One entry of GET /containers/json, or undefined when it cannot be addressed safely. */
export function containerFromList(c: unknown): ContainerInfo | undefined {
  if (typeof c !== 'object' || c === null) return undefined;
  const o = c as Record<string, unknown>;
  if (!validContainerId(o['Id'])) return undefined;
  const id = o['Id'];
  const names = Array.isArray(o['Names']) ? o['Names'] : [];
  const first = typeof names[0] === 'string' ? names[0].replace(/^\//, '') : undefined;
  const state = text(o['State'], 32);
  const created = typeof o['Created'] === 'number' && Number.isFinite(o['Created']) ? o['Created'] : 0;
  return {
    id,
    name: validContainerName(first) ? first : id.slice(0, 12),
    image: text(o['Image']),
    state: STATES.has(state) ? state : 'unknown',
    status: text(o['Status']),
    created,
  };
}

/** What GET /containers/{id}/json says of the container's process: whether it runs (anything but
 *  State.Running true is "not"), and its pid when it runs and the number is a plausible pid. */
export function processFromInspect(info: unknown): {running: boolean; pid?: number} {
  const s = (info as {State?: {Running?: unknown; Pid?: unknown}} | undefined)?.State;
  if (s?.Running !== true) return {running: false};
  const pid = s.Pid;
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 && pid < PID_LIMIT ? {running: true, pid} : {running: true};
}

/**
 * Where the engine mounts a stopped container's root filesystem while it serves an archive
 * request (GraphDriver.Data.MergedDir of GET /containers/{id}/json): only for overlay2, only a
 * plain absolute path ending in overlay2/<layer>/merged (no "." or ".." components, no NUL);
 * else undefined. Still only the engine's word: the agent checks that it is an overlay mount.
 */
export function mergedDirFromInspect(info: unknown): string | undefined {
  const g = (info as {GraphDriver?: {Name?: unknown; Data?: {MergedDir?: unknown}}} | null)?.GraphDriver;
  const dir = g?.Data?.MergedDir;
  if (g?.Name !== 'overlay2' || typeof dir !== 'string' || dir.length > 1024) return undefined;
  const parts = dir.split('/');
  if (parts[0] !== '' || parts.slice(1).some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) return undefined;
  return /\/overlay2\/[0-9A-Za-z]{1,128}\/merged$/.test(dir) ? dir : undefined;
}
