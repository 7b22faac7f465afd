// dbox's command line: `dbox -c LINE`, `dbox` reading lines from a pipe, and the interactive
// shell on a terminal. The only place that calls process.exit.
import {Engine} from './docker/engine.js';
import type {Output} from './shell/context.js';
import {Session} from './shell/session.js';
import {escapeControls, escapeControlsLines} from './format/quote.js';
import {DboxError} from './vfs/errors.js';
import {Namespace} from './vfs/namespace.js';

const VERSION = '0.1.0';

const usage = `usage: dbox [-c LINE]
  dbox                      interactive shell (reads lines from stdin when it is not a terminal)
  dbox -c 'LINE'            run one line and exit with its status
  dbox mount DIR [--foreground]
                            mount the containers at DIR (FUSE); without --foreground it runs in the background
  dbox umount DIR           end such a mount
  dbox attach CONTAINER [HOSTDIR] [--at PATH] [--method M] [-- CMD...]
                            a shell (or CMD) inside a running container with a host toolbox
  dbox toolbox              build the default toolbox (static busybox) and print where it is
  dbox --help | --version

/containers is a directory of containers: ls, cd, cat and cp work on container paths.
Type \`help\` inside dbox for the builtins.
`;

function output(stream: NodeJS.WriteStream, fd: number): Output {
  return {stream, fd, isTTY: stream.isTTY === true, get columns() { return stream.columns || 80; }};
}

/** The background FUSE mount, started by the first external command that needs it. */
let background: {ensure(): Promise<string>; stop(): void} | undefined;

async function mountDir(): Promise<string> {
  if (!background) {
    const {BackgroundMount} = await import('./fuse/background.js');
    background = new BackgroundMount();
  }
  return background.ensure();
}

// Leave no mount behind: on exit, and on the signals that end a shell.
process.on('exit', () => background?.stop());
process.on('SIGTERM', () => process.exit(143));
process.on('SIGHUP', () => process.exit(129));

function newSession(): Session {
  const ns = new Namespace(new Engine());
  return new Session(ns, {
    stdin: process.stdin, stdinFd: 0, stdout: output(process.stdout, 1), stderr: output(process.stderr, 2), env: process.env,
    mountDir,
  }, process.cwd());
}

/** `dbox mount DIR [--foreground]` and `dbox umount DIR`. */
async function mountCommand(args: readonly string[]): Promise<number> {
  const [command, dir, ...flags] = args;
  if (!dir) {
    process.stderr.write(`dbox: ${command}: missing mount point\n${usage}`);
    return 2;
  }
  const {resolve} = await import('node:path');
  const target = resolve(dir);
  if (command === 'umount') {
    const {detach, isMounted} = await import('./fuse/mounts.js');
    if (!isMounted(target)) {
      process.stderr.write(`dbox: umount: ${dir}: not mounted\n`);
      return 1;
    }
    detach(target);
    return 0;
  }
  const server = await import('./fuse/server.js');
  const readyFd = flags.includes('--ready-fd') ? Number(flags[flags.indexOf('--ready-fd') + 1]) : undefined;
  if (flags.includes('--foreground')) {
    await server.serve(target, {parentPipe: flags.includes('--parent-pipe'), ...(readyFd !== undefined ? {readyFd} : {})});
    return 0;
  }
  // In the background: a mount process in its own session serves; this process waits until it is mounted.
  const {launchMount} = await import('./fuse/launch.js');
  try {
    const {child} = await launchMount(target);
    child.unref();
  } catch (error) {
    process.stderr.write(`dbox: mount: ${escapeControls(dir)}: ${escapeControlsLines((error as Error).message)}\n`);
    return 1;
  }
  process.stdout.write(`${target}\n`);
  return 0;
}

/** Ctrl-C / SIGINT stops the running builtin; with none running it ends a non-interactive dbox. */
function trapInterrupt(session: Session, onIdle: () => void): void {
  process.on('SIGINT', () => {
    if (!session.interrupt()) onIdle();
  });
}

async function runLines(session: Session, lines: AsyncIterable<string>): Promise<number> {
  for await (const line of lines) {
    const outcome = await session.runLine(line);
    if (outcome.exit !== undefined) return outcome.exit;
  }
  return session.lastStatus;
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, second] = argv;
  if (first === '--help' || first === '-h') {
    process.stdout.write(usage);
    return 0;
  }
  if (first === '--version') {
    process.stdout.write(`dbox ${VERSION}\n`);
    return 0;
  }
  if (first === 'mount' || first === 'umount') return mountCommand(argv);
  if (first === 'toolbox') {
    const {ensureToolbox} = await import('./attach/toolbox.js');
    process.stdout.write(`${ensureToolbox()}\n`);
    return 0;
  }
  let session: Session;
  try {
    session = newSession();
  } catch (error) {
    if (!(error instanceof DboxError)) throw error;
    process.stderr.write(`dbox: ${escapeControlsLines(error.message)}\n`);
    return 1;
  }
  if (first === 'attach') {
    trapInterrupt(session, () => undefined);
    return (await session.runArgv(argv)).status;
  }
  if (first === '-c') {
    if (second === undefined) {
      process.stderr.write('dbox: -c: option requires an argument\n');
      return 2;
    }
    trapInterrupt(session, () => process.exit(130));
    const outcome = await session.runLine(second);
    return outcome.exit ?? outcome.status;
  }
  if (first !== undefined) {
    process.stderr.write(`dbox: unknown argument '${first}'\n${usage}`);
    return 2;
  }
  if (process.stdin.isTTY && process.stdout.isTTY) {
    // Ctrl-C reaches dbox as SIGINT only while a line runs (the prompt reads it as a key).
    trapInterrupt(session, () => undefined);
    const {interactive} = await import('./ui/interactive.js');
    return interactive(session, process.env);
  }
  trapInterrupt(session, () => process.exit(130));
  const {createInterface} = await import('node:readline');
  return runLines(session, createInterface({input: process.stdin, terminal: false}));
}

// A reader that stops reading (`dbox -c 'ls' | head -1`) ends dbox as SIGPIPE ends GNU's tools:
// silently, with the status a shell shows for it.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(128 + 13);
  throw error;
});

/** Exits once what was written to stdout and stderr has reached them (a pipe may still hold some). */
const exitWhenWritten = (code: number): void => {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
};

main(process.argv.slice(2)).then(
  (code) => exitWhenWritten(code),
  (error: unknown) => {
    process.stderr.write(`dbox: internal error (please report): ${escapeControlsLines((error as Error)?.stack ?? String(error))}\n`);
    process.exit(70);
  },
);
