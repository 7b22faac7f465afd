// One dbox session: its private directory (socket, client link, line file), the builtin server,
// the session's bash in its namespace, and the mount there. Opened by every mode of `dbox`
// (src/cli.ts, src/ui/interactive.tsx); closed once bash has ended.
import fs from 'node:fs';
import path from 'node:path';
import {cleanStale, runtimeDir} from '../fuse/runtime.js';
import type {Namespace} from '../vfs/namespace.js';
import {BashSession, type SessionMode} from './bash-session.js';
import {BuiltinServer} from './builtin-server.js';
import type {Registry} from './context.js';
import {SessionMount} from './session-mount.js';

/** start: mount /containers once bash has started (startMount), lines that name container paths
 *  wait for it; wait: before bash starts; never. */
export type MountPolicy = 'start' | 'wait' | 'never';

export interface SessionSetup {
  readonly mode: SessionMode;
  readonly ns: Namespace;
  /** The builtins bash calls dbox for (src/cli.ts gives builtins/index.ts's). */
  readonly builtins: Registry;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly mount: MountPolicy;
  /** One-line messages for the user (the mount's restarts and failures, no namespace). */
  readonly notice: (line: string) => void;
  readonly mountLog: string;
  /** Calls the opening off (a signal dbox got meanwhile): open() then rejects with OpeningAborted,
   *  having stopped the mount and removed what it made; the line is never run. */
  readonly signal?: AbortSignal;
}

/** The opening was called off (SessionSetup.signal). */
export class OpeningAborted extends Error {}

/** Waits for `mount` to be ready or to fail, unless the opening is called off first. */
async function settled(mount: SessionMount, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw new OpeningAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new OpeningAborted());
    signal?.addEventListener('abort', onAbort, {once: true});
  });
  aborted.catch(() => undefined);
  try {
    await Promise.race([mount.whenSettled(), aborted]);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

const OWN_FILES = ['sock', 'dbox', 'line'];
/** How long builtins still running at the end may take to clean up. */
const SETTLE_MS = 10_000;

/** Removes a session directory: its own files, and the mount point once nothing is mounted
 *  there. Never recursively: a mount left there would be emptied through. */
function removeSessionDir(dir: string): void {
  for (const f of OWN_FILES) fs.rmSync(path.join(dir, f), {force: true});
  for (const d of [path.join(dir, 'containers'), dir]) {
    try {
      fs.rmdirSync(d);
    } catch { /* still mounted, busy, or gone */ }
  }
}

/** Removes the files of sessions whose dbox is gone (their mounts: cleanStale). */
function cleanStaleSessions(runtime: string): void {
  for (const name of fs.readdirSync(runtime)) {
    if (!/^\d+$/.test(name) || name === String(process.pid)) continue;
    const pid = Number(name);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dbox');
    } catch { /* gone */ }
    if (alive) continue;
    for (const f of OWN_FILES) fs.rmSync(path.join(runtime, name, f), {force: true});
  }
  // Their mounts (a user's session mounts at <runtime>/<pid>/containers, as the background mount does).
  cleanStale(runtime);
}

export class ShellSession {
  mount: SessionMount | undefined;

  private constructor(readonly dir: string, readonly server: BuiltinServer, readonly bash: BashSession) {}

  static async open(setup: SessionSetup): Promise<ShellSession> {
    const runtime = runtimeDir(setup.env);
    cleanStaleSessions(runtime);
    const dir = path.join(runtime, String(process.pid));
    removeSessionDir(dir);
    fs.mkdirSync(dir, {mode: 0o700});
    const server = BuiltinServer.listen(path.join(dir, 'sock'), setup.ns, setup.builtins);
    // Users other than root mount with fusermount3, in the host's namespace: before the session's
    // namespace is made, which binds it (session-mount.ts).
    let outside: SessionMount | undefined;
    if (process.getuid?.() !== 0 && setup.mount !== 'never') {
      outside = new SessionMount({kind: 'outside', dir: path.join(dir, 'containers')}, setup.mountLog, setup.notice);
      outside.start();
      try {
        await settled(outside, setup.signal);
      } catch (error) {
        await outside.stop();
        server.close();
        removeSessionDir(dir);
        throw error;
      }
    }
    let session!: ShellSession;
    const bash = new BashSession({
      mode: setup.mode, env: setup.env, cwd: setup.cwd, dir, builtins: setup.builtins.map((b) => b.name),
      ...(outside?.state === 'ready' ? {containers: path.join(dir, 'containers')} : {}),
      beforeStart: async (namespace) => {
        if (namespace.kind === 'none') {
          setup.notice(`dbox: other commands cannot reach /containers here (${namespace.reason}); dbox's builtins can`);
          return;
        }
        if (outside) {
          outside.attach(namespace);
          return;
        }
        if (setup.mount === 'never') return;
        const mount = new SessionMount({kind: 'inside', ns: namespace}, setup.mountLog, setup.notice);
        session.mount = mount;
        // Interactive: started once bash has read its startup files, not competing with them and
        // the line editor for the CPU (a person's first command comes later); whenSettled waits.
        if (setup.mount === 'wait') {
          mount.start();
          await settled(mount, setup.signal);
        }
      },
    });
    session = new ShellSession(dir, server, bash);
    session.mount = outside;
    try {
      await bash.start();
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  /** Starts a mount that was left for later ('start'). */
  startMount(): void {
    if (this.mount?.state === 'starting' && !this.mount.started) this.mount.start();
  }

  /** Everything but bash itself, which has ended (or is being left); resolves once the mount is gone.
   *  A builtin still running (its bash was killed under it) is interrupted and given up to
   *  SETTLE_MS to clean up (a copy's temporary), before dbox goes. */
  async close(): Promise<void> {
    const mount = this.mount?.stop();
    this.bash.stop();
    this.bash.releaseNamespace();
    this.server.interruptAll();
    await this.server.settled(SETTLE_MS);
    this.server.close();
    await mount;
    removeSessionDir(this.dir);
  }
}

/** Whether a text names a container path (to decide to wait for the mount, never to rewrite). */
export const namesContainers = (text: string): boolean => /\/?(containers|hosts|images|volumes)\b/.test(text);

/** A line that is one call of a builtin with plain words (no quoting, expansion, redirection or
 *  other command): bash passes its words as they are to dbox, and nothing but dbox reads a
 *  container path, so it needs no mount. Anything else may. */
export function onlyBuiltinCall(line: string, builtinNames: readonly string[]): boolean {
  const words = line.trim().split(/[ \t]+/);
  return builtinNames.includes(words[0]!) && words.every((w) => /^[A-Za-z0-9_\-./,:=+@%]+$/.test(w));
}
