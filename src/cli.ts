// dbox's command line: the interactive shell on a terminal, `dbox -c LINE`, a script, lines from
// a pipe (all run by the session's bash, src/shell/shell-session.ts), and `dbox attach`, `dbox
// mount`, `dbox toolbox`. The only place that calls process.exit, once output has drained.
import os from 'node:os';
import path from 'node:path';
import {Engine} from './docker/engine.js';
import type {SessionMode} from './shell/bash-session.js';
import type {ShellContext} from './shell/context.js';
import {escapeControls, escapeControlsLines} from './format/quote.js';
import {DboxError, topLevel} from './errors.js';
import {Namespace} from './vfs/namespace.js';

const VERSION = '0.1.0';

const usage = `usage: dbox [-c LINE [ARG0 [ARGS...]] | FILE [ARGS...]]
  dbox                      interactive shell (reads commands from stdin when it is not a terminal)
  dbox -c 'LINE'            run one line and exit with its status
  dbox FILE [ARGS...]       run a bash script, with dbox's builtins and /containers
  dbox mount DIR [-o OPTIONS] [--foreground]
                            mount the containers at DIR (FUSE); without --foreground it runs in the background;
                            OPTIONS (comma-separated, -o may repeat): allow_other (other users too, with
                            default_permissions; what they create is theirs), default_permissions, ro, rw
  dbox umount DIR           end such a mount
  dbox attach CONTAINER|IMAGE [HOSTDIR] [--at PATH] [--method M] [--snapshot] [-- CMD...]
                            a shell (or CMD) inside a running container with a host toolbox
  dbox toolbox              build the default toolbox (static busybox) and print where it is
  dbox --help | --version

Commands are bash's; /containers is a directory of containers, for every program. dbox's
builtins (ls, cat, cp, attach, help) work on container paths directly. Type \`help\` inside dbox.
`;

/** /etc/fuse.conf's text, undefined when there is none. */
async function readFuseConf(): Promise<string | undefined> {
  const fs = await import('node:fs');
  try {
    return fs.readFileSync('/etc/fuse.conf', 'utf8');
  } catch {
    return undefined;
  }
}

/** `dbox mount DIR [-o OPTIONS] [--foreground]` and `dbox umount DIR`. */
async function mountCommand(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  const {parseMountArgs, refusal, MountUsageError} = await import('./fuse/mount-options.js');
  let parsed;
  try {
    parsed = parseMountArgs(rest);
    if (!parsed.help && parsed.operands.length === 0) throw new MountUsageError('missing mount point');
    if (!parsed.help && parsed.operands.length > 1) throw new MountUsageError(`extra operand '${parsed.operands[1]}'`);
  } catch (error) {
    if (!(error instanceof MountUsageError)) throw error;
    process.stderr.write(`dbox: ${command}: ${escapeControls(error.message)}\n${usage}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(usage);
    return 0;
  }
  const dir = parsed.operands[0]!;
  const target = path.resolve(dir);
  if (command === 'umount') {
    const {detach, isMounted} = await import('./fuse/mounts.js');
    if (!isMounted(target)) {
      process.stderr.write(`dbox: umount: ${escapeControls(dir)}: not mounted\n`);
      return 1;
    }
    detach(target);
    return 0;
  }
  const {options, foreground, parentPipe, readyFd} = parsed;
  const why = refusal(options, process.getuid?.() ?? 0, await readFuseConf());
  if (why) {
    process.stderr.write(`dbox: mount: ${why}\n`);
    return 1;
  }
  if (foreground) {
    const server = await import('./fuse/server.js');
    await server.serve(target, {parentPipe, options, ...(readyFd !== undefined ? {readyFd} : {})});
    return 0;
  }
  // In the background: a mount process in its own session serves; this process waits until it is mounted.
  const {launchMount} = await import('./fuse/launch.js');
  try {
    const {child} = await launchMount(target, {options});
    child.unref();
  } catch (error) {
    process.stderr.write(`dbox: mount: ${escapeControls(dir)}: ${escapeControlsLines((error as Error).message)}\n`);
    return 1;
  }
  process.stdout.write(`${target}\n`);
  return 0;
}

/** `dbox attach …`: the builtin on dbox's own terminal, dbox in the foreground. */
async function attachCommand(argv: readonly string[], ns: Namespace): Promise<number> {
  const [{runBuiltin}, {builtins}] = await Promise.all([import('./shell/run-builtin.js'), import('../builtins/index.js')]);
  const {runCaptured, runInherited} = await import('./shell/run-program.js');
  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort());
  const output = (stream: NodeJS.WriteStream, fd: number) =>
    ({stream, fd, isTTY: stream.isTTY === true, get columns() { return stream.columns || 80; }});
  const ctx: ShellContext = {
    cwd: process.cwd(), home: process.env['HOME'] ?? '/', env: process.env, ns, stdin: process.stdin, stdinIsTTY: process.stdin.isTTY === true,
    stdout: output(process.stdout, 1), stderr: output(process.stderr, 2), color: process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined,
    signal: controller.signal, run: runInherited, capture: runCaptured, now: Date.now,
  };
  return runBuiltin(builtins, argv, ctx);
}

function modeOf(argv: readonly string[]): SessionMode | number {
  const [first, ...rest] = argv;
  if (first === '-c') {
    if (rest[0] === undefined) {
      process.stderr.write('dbox: -c: option requires an argument\n');
      return 2;
    }
    return {kind: 'command', line: rest[0], args: rest.slice(1)};
  }
  if (first === undefined || first === '-s') {
    return {kind: 'stdin', args: first === '-s' ? rest : []};
  }
  if (first.startsWith('-')) {
    process.stderr.write(`dbox: ${first}: invalid option\n${usage}`);
    return 2;
  }
  return {kind: 'script', file: first, args: rest};
}

/** Exit status of a non-interactive session, or the signal that ended its bash. */
async function runSession(mode: SessionMode, ns: Namespace): Promise<number> {
  const {ShellSession, OpeningAborted, namesContainers, onlyBuiltinCall} = await import('./shell/shell-session.js');
  const {builtins} = await import('../builtins/index.js');
  const {mountLogPath} = await import('./shell/session-mount.js');
  const fs = await import('node:fs');
  const cwd = process.cwd();
  // Only to know whether the mount must be up before bash starts: nothing is ever rewritten.
  let text = [...Object.values(process.env), cwd].join('\n');
  if (mode.kind === 'command') text += `\n${mode.line}\n${mode.args.join('\n')}`;
  if (mode.kind === 'script') {
    text += `\n${mode.args.join('\n')}`;
    try {
      text += fs.readFileSync(mode.file, 'utf8').slice(0, 1 << 20);
    } catch { /* bash says why */ }
  }
  const builtinOnly = mode.kind === 'command' && onlyBuiltinCall(mode.line, builtins.map((b) => b.name)) && !namesContainers(cwd);
  const needsMount = !builtinOnly && (mode.kind === 'stdin' || namesContainers(text));
  // As a shell waiting for its command: the terminal's SIGINT and SIGQUIT are the command's (its
  // process group has them too). A SIGINT sent to dbox alone (kill, timeout -s INT) interrupts the
  // line all the same: its builtins stop and bash is told, as a terminal would tell it.
  //
  // Ended from outside (SIGTERM, SIGHUP): bash (and so the line) ends the same way, then dbox
  // after it, its session closed (runtime directory, socket, mount). A signal that comes while the
  // session opens calls the opening off where it waits (for the mount: the line then never runs,
  // and dbox dies by it once what the opening made is gone); past that wait, it is passed on once
  // the session is open. Dying at once would leave what the opening made.
  let opened: Awaited<ReturnType<typeof ShellSession.open>> | undefined;
  let pending: NodeJS.Signals | undefined;
  const opening = new AbortController();
  const pass = (signal: NodeJS.Signals): void => {
    if (!opened) {
      pending ??= signal;
      opening.abort(); // where the opening still waits (for the mount), it stops: the line never runs
      return;
    }
    if (signal === 'SIGINT') opened.server.interruptAll();
    opened.bash.signal(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => pass(signal));
  process.on('SIGQUIT', () => undefined);
  let session: Awaited<ReturnType<typeof ShellSession.open>>;
  try {
    session = opened = await ShellSession.open({
      mode, ns, builtins, env: process.env, cwd, mount: needsMount ? 'wait' : 'never', mountLog: mountLogPath(process.env),
      notice: (line) => process.stderr.write(line + '\n'), signal: opening.signal,
    });
  } catch (error) {
    if (!(error instanceof OpeningAborted) || !pending) throw error;
    // Ended before its line ran, everything the opening made gone: dies as the signal says.
    await drain();
    process.removeAllListeners(pending);
    process.kill(process.pid, pending);
    return 128 + (os.constants.signals[pending] ?? 0);
  }
  if (pending) pass(pending);
  const status = await session.bash.exited;
  await session.close();
  const signal = session.bash.exitSignal;
  if (signal === 'SIGINT' || signal === 'SIGQUIT' || signal === 'SIGTERM' || signal === 'SIGHUP') {
    // Died as its bash did, so the caller's shell sees an interrupted command.
    await drain();
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  return status;
}

async function main(argv: readonly string[]): Promise<number> {
  const [first] = argv;
  if (first === '--help' || first === '-h') {
    process.stdout.write(usage);
    return 0;
  }
  if (first === '--version') {
    process.stdout.write(`dbox ${VERSION}\n`);
    return 0;
  }
  if (first === 'mount' || first === 'umount') return mountCommand(argv);
  if (first === '--attach-bridge') return (await import('./attach/terminal-bridge.js')).bridgeMain(process.env);
  if (first === 'toolbox') {
    const [{ensureToolbox}, {runCaptured}] = await Promise.all([import('./attach/toolbox.js'), import('./shell/run-program.js')]);
    process.stdout.write(`${await ensureToolbox(runCaptured)}\n`);
    return 0;
  }
  let ns: Namespace;
  try {
    ns = new Namespace(new Engine());
  } catch (error) {
    if (!(error instanceof DboxError)) throw error;
    const {text, status} = topLevel(error);
    process.stderr.write(text);
    return status;
  }
  if (first === 'attach') return attachCommand(argv, ns);
  const mode = modeOf(argv);
  if (typeof mode === 'number') return mode;
  if (mode.kind === 'stdin' && mode.args.length === 0 && process.stdin.isTTY && process.stdout.isTTY) {
    // bash first: its startup files run while the line editor loads.
    // The session is handed its builtins here: src/shell never imports builtins/ (which import it).
    const [{instantPrompt, openInteractive}, {builtins}] = await Promise.all([import('./ui/interactive-session.js'), import('../builtins/index.js')]);
    const opening = openInteractive(ns, process.env, builtins);
    instantPrompt(process.env);
    opening.catch(() => undefined);
    const {interactive} = await import('./ui/interactive.js');
    return interactive(ns, process.env, opening, builtins.map((b) => b.name));
  }
  return runSession(mode, ns);
}

// A reader that stops reading (`dbox -c 'ls' | head -1`) ends dbox as SIGPIPE ends GNU's tools:
// silently, with the status a shell shows for it.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(128 + 13);
  throw error;
});

/** Waits until what dbox wrote to its stdout and stderr has left (a pipe takes 64 KiB at a time). */
function drain(): Promise<void> {
  return Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((r) => s.write('', () => r())))).then(() => undefined);
}

if (process.env['DBOX_TRACE']) process.stderr.write(`[${performance.now().toFixed(0)}] cli loaded\n`);
main(process.argv.slice(2)).then(
  async (code) => {
    await drain();
    process.exit(code);
  },
  async (error: unknown) => {
    const {text, status} = topLevel(error);
    process.stderr.write(text);
    await drain();
    process.exit(status);
  },
);
