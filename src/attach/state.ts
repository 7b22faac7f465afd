// attach's state on the host (what an attach changed, for `attach --cleanup` after a crash) is
// owned by the helper (native/attach-state.h: a checked root-only directory, files created
// exclusively, contents validated): this module only asks it. The mount methods keep their state
// inside the helper's own run; the upload method, which runs here, records and reads it through
// `dbox-attach state`, run through the caller's runner (ShellContext.capture).
import {attachHelper as helper} from '../self.js';
import type {Capture} from '../shell/context.js';
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

/** The helper's state, asked through `capture` (ShellContext.capture). */
export class AttachState {
  constructor(private readonly capture: Capture) {}

  private async run(args: readonly string[]): Promise<{status: number; stdout: string; stderr: string}> {
    const r = await this.capture(helper, ['state', ...args]);
    if (r.error !== undefined) throw new AttachError(`${helper}: ${r.error}`);
    return r;
  }

  /** Records an upload before it changes the container; fails when state for it exists already. */
  async recordUpload(id: string, target: string, token: string): Promise<void> {
    const r = await this.run(['put', '--id', id, '--method', 'upload', '--target', target, '--token', token]);
    if (r.status !== 0) throw new AttachError(message(r.stderr));
  }

  /**
   * The validated state of container `id`: undefined when there is none, or when the helper refuses
   * it (then `invalid` says why; the helper's cleanup removes such a file).
   */
  async read(id: string): Promise<{state?: State; invalid?: string}> {
    const r = await this.run(['get', '--id', id]);
    if (r.status === NONE) return {};
    if (r.status !== 0) return {invalid: message(r.stderr)};
    return parseState(r.stdout);
  }

  async forget(id: string): Promise<void> {
    const r = await this.run(['remove', '--id', id]);
    if (r.status !== 0) throw new AttachError(message(r.stderr));
  }
}

/** The helper's own message ("attach: ..."), without the prefix, for an AttachError. */
const message = (stderr: string): string => stderr.trim().split('\n')[0]?.replace(/^attach: /, '') ?? 'state: failed';

/** What `state get` printed (key=value lines), as a State. */
function parseState(stdout: string): {state?: State; invalid?: string} {
  const fields = new Map(stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  const method = fields.get('method');
  const target = fields.get('target') ?? '';
  if (method === 'upload') return {state: {method, target, token: fields.get('token') ?? ''}};
  if (method === 'mount-api' || method === 'blockdev') return {state: {method, target}};
  return {invalid: 'unknown method'};
}
