// attach: open a shell (or run a command) inside a running container with a host toolbox injected.
import type {Method} from '../src/attach/attach.js';
import {escapeControls, escapeControlsLines} from '../src/format/quote.js';
import type {Builtin} from '../src/shell/context.js';
import {UsageError} from '../src/errors.js';

const methods = new Set(['auto', 'mount-api', 'blockdev', 'helper', 'upload']);
const usage = 'attach CONTAINER [HOSTDIR] [--at PATH] [--method auto|mount-api|blockdev|helper|upload] [--snapshot] [--verbose] [--cleanup] [-- CMD [ARGS...]]';
const bad = (msg: string): never => {
  throw new UsageError(`attach: ${msg}\nTry 'help attach' for more information.`);
};

export interface AttachArgs {
  container: string;
  hostDir?: string;
  at: string;
  method: Method;
  verbose: boolean;
  cleanup: boolean;
  snapshot: boolean;
  command: string[];
}

export function parseAttachArgs(args: readonly string[]): AttachArgs {
  const out: AttachArgs = {container: '', at: '/.dbox', method: 'auto', verbose: false, cleanup: false, snapshot: false, command: []};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.command = args.slice(i + 1) as string[];
      break;
    }
    if (a === '--at' || a === '--method') {
      const v = args[++i] ?? bad(`option '${a}' requires an argument`);
      if (a === '--at') out.at = v;
      else if (methods.has(v)) out.method = v as Method;
      else bad(`invalid method '${v}' (auto, mount-api, blockdev, helper or upload)`);
    } else if (a === '--verbose' || a === '-v') out.verbose = true;
    else if (a === '--cleanup') out.cleanup = true;
    else if (a === '--snapshot') out.snapshot = true;
    else if (a.startsWith('-')) bad(`unrecognized option '${a}'`);
    else positional.push(a);
  }
  if (positional.length === 0) bad('missing container');
  if (positional.length > 2) bad(`unexpected argument '${positional[2]}' (put the command after --)`);
  out.container = positional[0]!;
  if (positional[1] !== undefined) out.hostDir = positional[1];
  return out;
}

export const attach: Builtin = {
  name: 'attach',
  usage,
  summary: 'a shell (or CMD) inside a container, with a host toolbox mounted at --at (default /.dbox); a stopped container or an image gets a throw-away snapshot',
  async run(args, ctx) {
    const a = parseAttachArgs(args);
    // Loaded on use: attach needs child processes and the helper, no other line does.
    const {attach: runAttach, cleanup} = await import('../src/attach/attach.js');
    const {AttachError} = await import('../src/attach/toolbox.js');
    const io = {ns: ctx.ns, env: ctx.env as NodeJS.ProcessEnv, stderr: ctx.stderr.stream, run: ctx.run, capture: ctx.capture, stdinIsTTY: ctx.stdinIsTTY};
    try {
      if (a.cleanup) {
        // Only what really happened: the helper has said what it left, and why.
        const {removed, left} = await cleanup(a.container, a.hostDir, a.at, io);
        const shown = escapeControls(a.container);
        if (removed > 0) ctx.stdout.stream.write(`attach: removed what an earlier attach left in ${shown}\n`);
        if (left > 0) ctx.stderr.stream.write(`attach: could not remove everything an earlier attach left in ${shown}\n`);
        if (removed === 0 && left === 0) ctx.stdout.stream.write(`attach: nothing left in ${shown}\n`);
        return {status: left > 0 ? 1 : 0};
      }
      const {hostDir, ...rest} = a;
      return {status: await runAttach({...rest, ...(hostDir !== undefined ? {hostDir} : {})}, io)};
    } catch (error) {
      if (!(error instanceof AttachError)) throw error;
      ctx.stderr.stream.write(`attach: ${escapeControlsLines(error.message)}\n`);
      return {status: 1};
    }
  },
};
