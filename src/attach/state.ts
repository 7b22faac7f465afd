// attach's state on the host (what an attach changed, for `attach --cleanup` after a crash) is
// owned by the helper (native/attach-state.h: a checked root-only directory, files created
// exclusively, contents validated): this module only asks it. The mount methods keep their state
// inside the helper's own run; the upload method, which runs here, records and reads it through
// `dbox-attach state`.
import {spawnSync} from 'node:child_process';
import {attachHelper as helper} from '../self.js';
import {AttachError} from './toolbox.js';

export interface UploadState {
  readonly method: 'upload';
  readonly target: string;
  readonly token: string;
}

export interface MountState {
  readonly method: 'mount-api' | 'blockdev';
  readonly target: string;
}

export type State = UploadState | MountState;

const NONE = 3;

function run(args: readonly string[]): {status: number; stdout: string; stderr: string} {
  const r = spawnSync(helper, ['state', ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  if (r.error) throw new AttachError(`${helper}: ${r.error.message}`);
  return {status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr};
}

/** The helper's own message ("attach: ..."), without the prefix, for an AttachError. */
const message = (stderr: string): string => stderr.trim().split('\n')[0]?.replace(/^attach: /, '') ?? 'state: failed';

/** Records an upload before it changes the container; fails when state for it exists already. */
export function recordUpload(id: string, target: string, token: string): void {
  const r = run(['put', '--id', id, '--method', 'upload', '--target', target, '--token', token]);
  if (r.status !== 0) throw new AttachError(message(r.stderr));
}

/**
 * The validated state of container `id`: undefined when there is none, or when the helper refuses
 * it (then `invalid` says why; the helper's cleanup removes such a file).
 */
export function readState(id: string): {state?: State; invalid?: string} {
  const r = run(['get', '--id', id]);
  if (r.status === NONE) return {};
  if (r.status !== 0) return {invalid: message(r.stderr)};
  const fields = new Map(r.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  const method = fields.get('method');
  const target = fields.get('target') ?? '';
  if (method === 'upload') return {state: {method, target, token: fields.get('token') ?? ''}};
  if (method === 'mount-api' || method === 'blockdev') return {state: {method, target}};
  return {invalid: 'unknown method'};
}

export function forgetState(id: string): void {
  const r = run(['remove', '--id', id]);
  if (r.status !== 0) throw new AttachError(message(r.stderr));
}
