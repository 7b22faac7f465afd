// The terminal of an attach whose program the engine runs (the helper container, or an exec for
// --method upload): a process of its own, `dbox --attach-bridge`, which the builtin starts with
// the caller's terminal (ShellContext.run: the job's process group, so the terminal's keys reach
// it), and which joins that terminal to the program over the engine's hijacked connection. The
// builtin itself cannot: the terminal belongs to the foreground job, never to dbox.
//
// With a terminal: raw mode while the program runs (every key is the program's, Ctrl-C too), its
// size sent at the start and at every SIGWINCH, restored at the end whatever happens. Without
// one: stdin is copied in and its end closes the program's stdin; stdout and stderr come out of
// Docker's framing to ours. The exit status is the program's.
//
// What it trusts: its spec, from the dbox process that started it (an environment variable: it
// holds the engine's TLS key, and a process's environment is readable by its own user only);
// the engine, to be the one the user named. The program's output goes to the terminal as it comes,
// as with any program the user runs there (docker exec -it does the same).
import type {Endpoint} from '../docker/endpoints.js';
import {Engine, type Interactive} from '../docker/engine.js';
import {escapeControls} from '../format/quote.js';

export const BRIDGE_ENV = 'DBOX_ATTACH_BRIDGE';

export interface BridgeSpec {
  readonly endpoint: Endpoint;
  readonly target: {readonly exec: {readonly id: string; readonly cmd: readonly string[]; readonly env: readonly string[]}} | {readonly container: string};
  readonly tty: boolean;
}

const EXIT_BRIDGE = 125;

function parseSpec(text: string | undefined): BridgeSpec | undefined {
  try {
    const s = JSON.parse(text ?? '') as BridgeSpec;
    const strings = (a: unknown): boolean => Array.isArray(a) && a.every((x) => typeof x === 'string');
    const t = s.target as {exec?: {id?: unknown; cmd?: unknown; env?: unknown}; container?: unknown};
    const ok = typeof s.endpoint?.address === 'string' && typeof s.tty === 'boolean' &&
      (typeof t.container === 'string' || (typeof t.exec?.id === 'string' && strings(t.exec.cmd) && strings(t.exec.env)));
    return ok ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Joins this process's stdin, stdout and stderr to the program; resolves with its status. */
async function join(it: Interactive): Promise<number> {
  const stdin = process.stdin;
  const raw = it.tty && stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const resize = (): void => {
    if (process.stdout.isTTY) it.resize(process.stdout.rows, process.stdout.columns).catch(() => undefined);
  };
  try {
    if (it.tty) it.stream.pipe(process.stdout, {end: false});
    else it.demux(process.stdout, process.stderr);
    it.stream.on('error', () => undefined);
    // Without a terminal, the end of stdin closes the program's (a half-close of the connection).
    stdin.pipe(it.stream, {end: !it.tty});
    stdin.on('error', () => undefined);
    process.stdout.on('resize', resize);
    resize();
    return await it.status;
  } finally {
    process.stdout.off('resize', resize);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdin.destroy();
    it.stream.destroy();
    await new Promise<void>((resolve) => (process.stdout.writableNeedDrain ? process.stdout.once('drain', resolve) : resolve()));
  }
}

/** `dbox --attach-bridge`: the exit status of the program (125 when it could not be reached). */
export async function bridgeMain(env: NodeJS.ProcessEnv): Promise<number> {
  const spec = parseSpec(env[BRIDGE_ENV]);
  if (!spec) {
    process.stderr.write('dbox: --attach-bridge: no valid spec (it is started by attach)\n');
    return 2;
  }
  const engine = new Engine(spec.endpoint);
  const container = 'container' in spec.target ? spec.target.container : undefined;
  // Ctrl-C without a terminal (the job's SIGINT), or the job ended from outside: the helper is
  // asked to end its program, and cleans up before it exits.
  const stop = (): void => {
    if (container) engine.signalContainer(container, 'SIGTERM').catch(() => undefined);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  try {
    return await join(await engine.interactive(spec.target, spec.tty));
  } catch (error) {
    process.stderr.write(`attach: ${escapeControls((error as Error).message).slice(0, 300)}\n`);
    return EXIT_BRIDGE;
  } finally {
    if (container) await engine.removeContainer(container).catch(() => undefined);
  }
}
