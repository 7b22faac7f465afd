// The door: on a local engine (a unix socket), the first session of a user reaches the agent by
// an exec, and asks it to leave a socket for that uid in a directory of the user's; later dbox
// processes of the same user connect there directly (a few milliseconds instead of an exec's
// tens), until the agent leaves (its keeper removes the door; native/agent/agent.c, "the door").
//
// What it trusts, and why: the directory is ours (created 0700, checked: a directory, not a
// link, owned by us, closed to others: a local user cannot plant a socket there), and the
// socket's name carries the engine's socket path and the agent's hash, so a door is only used
// for the engine whose agent made it. Whoever answers there is the agent we asked for that door;
// its answers are checked like any other session's. A user taken out of the docker group keeps
// a door until the agent's idle time passes. A door whose agent was killed (its keeper could not
// remove it) is removed by the next dbox that finds nobody there (sweepDoors).
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Door {
  readonly dir: string;
  readonly name: string;
  readonly path: string;
}

/** Where this user's doors are: $XDG_RUNTIME_DIR/dbox-agent, else <tmpdir>/dbox-agent-<uid>; made if missing; undefined when not safely ours. */
function doorDir(): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const runtime = process.env['XDG_RUNTIME_DIR'];
  const dir = runtime && path.isAbsolute(runtime) ? path.join(runtime, 'dbox-agent') : path.join(os.tmpdir(), `dbox-agent-${uid}`);
  try {
    fs.mkdirSync(dir, {mode: 0o700});
  } catch (error) {
    if ((error as {code?: string}).code !== 'EEXIST') return undefined;
  }
  try {
    const st = fs.lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The door of the agent with hash `agentHash` on the engine at `socketPath`, for this user. */
export function doorFor(socketPath: string, agentHash: string): Door | undefined {
  const dir = doorDir();
  if (!dir) return undefined;
  const name = `agent-${crypto.createHash('sha256').update(`${socketPath}\0${agentHash}`).digest('hex').slice(0, 24)}.sock`;
  return {dir, name, path: path.join(dir, name)};
}

/** Connects to a door; rejects when nobody answers there (no door, or an agent that left). */
export function knock(door: Door): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(door.path);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Removes the doors in `door`'s directory that nobody answers any more (an agent killed with its
 *  container, another engine's or another build's agent gone): a refused connection, on the same
 *  socket file before and after (a door made anew meanwhile is left alone). */
export async function sweepDoors(door: Door): Promise<void> {
  let names: string[];
  try {
    names = fs.readdirSync(door.dir).filter((n) => /^agent-[0-9a-f]{24}\.sock$/.test(n));
  } catch {
    return;
  }
  await Promise.all(names.map(async (name) => {
    const at = path.join(door.dir, name);
    const before = fs.lstatSync(at, {throwIfNoEntry: false});
    if (!before?.isSocket()) return;
    const refused = await knock({dir: door.dir, name, path: at}).then((s) => {
      s.destroy();
      return false;
    }, (error: {code?: string}) => error.code === 'ECONNREFUSED');
    const after = fs.lstatSync(at, {throwIfNoEntry: false});
    if (refused && after && after.ino === before.ino && after.dev === before.dev) fs.rmSync(at, {force: true});
  }));
}
