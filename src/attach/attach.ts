// attach: a host directory (the toolbox by default) appears at --at inside a running container,
// a shell or command runs there in all of the container's namespaces, and everything is removed
// when it ends. mount-api and blockdev run in the C helper (native/attach.c); upload copies the
// directory in with the archive API and deletes it afterwards (remote engines, or not root).
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {closest} from '../docker/suggest.js';
import {native} from '../native.js';
import {attachHelper as helper} from '../self.js';
import type {RunOptions} from '../shell/context.js';
import {FsError} from '../vfs/errors.js';
import type {Namespace} from '../vfs/namespace.js';
import {AttachError, ensureToolbox} from './toolbox.js';

export type Method = 'auto' | 'mount-api' | 'blockdev' | 'upload';

export interface AttachRequest {
  readonly container: string;
  readonly hostDir?: string;
  readonly at: string;
  readonly method: Method;
  readonly command: readonly string[];
  readonly verbose: boolean;
}

export interface AttachIo {
  readonly ns: Namespace;
  readonly env: NodeJS.ProcessEnv;
  readonly stderr: NodeJS.WritableStream;
  /** Runs the helper or `docker exec` with the caller's terminal (ShellContext.run). */
  readonly run: (program: string, args: readonly string[], options?: RunOptions) => Promise<number>;
  /** Whether the caller's stdin is a terminal (`docker exec -it` or `-i`). */
  readonly stdinIsTTY: boolean;
}

const EXIT_UNSUPPORTED = 124;
const EXIT_ATTACH = 125;

/** Where an attach records what it changed, for `attach --cleanup` after a crash. */
function stateFile(id: string): string {
  const dir = path.join(os.tmpdir(), `dbox-attach-${process.getuid?.() ?? 0}`);
  fs.mkdirSync(dir, {recursive: true, mode: 0o700});
  return path.join(dir, `${id}.state`);
}

function readState(file: string): Record<string, string> {
  try {
    return Object.fromEntries(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split('=', 2) as [string, string]));
  } catch {
    return {};
  }
}

async function runningContainer(io: AttachIo, name: string): Promise<{id: string; name: string}> {
  const c = await io.ns.findContainer(name, name).catch(async (e: unknown) => {
    if (!(e instanceof FsError)) throw e;
    const guess = closest(name, (await io.ns.containers()).map((x) => x.name));
    throw new AttachError(`no such container: ${name}${guess ? ` (did you mean '${guess}'?)` : ''}`);
  });
  if (c.state !== 'running') throw new AttachError(`container '${c.name}' is not running (start it with: docker start ${c.name})`);
  return c;
}

export async function attach(req: AttachRequest, io: AttachIo): Promise<number> {
  const c = await runningContainer(io, req.container);
  const hostDir = req.hostDir ?? ensureToolbox(io.env);
  const st = fs.statSync(hostDir, {throwIfNoEntry: false});
  if (!st) throw new AttachError(`${hostDir}: No such file or directory`);
  if (!st.isDirectory()) throw new AttachError(`${hostDir}: Not a directory`);
  if (!req.at.startsWith('/')) throw new AttachError(`--at ${req.at}: must be an absolute path`);
  const engine = io.ns.engine;
  const root = process.getuid?.() === 0;
  const local = engine.sharesPids();
  const methods: Method[] = req.method !== 'auto' ? [req.method] : local && root ? ['mount-api', 'blockdev', 'upload'] : ['upload'];
  if ((req.method === 'mount-api' || req.method === 'blockdev') && !root) {
    throw new AttachError(`the ${req.method} method needs root (CAP_SYS_ADMIN to enter the container's mount namespace)`);
  }
  if ((req.method === 'mount-api' || req.method === 'blockdev') && !local) {
    throw new AttachError(`the ${req.method} method needs the engine on this machine (${engine.endpoint.address} is remote); use --method upload`);
  }
  const command = req.command.length > 0 ? [...req.command] : [`${req.at}/bin/sh`];
  for (const method of methods) {
    if (req.verbose) io.stderr.write(`attach: ${c.name}: trying ${method}\n`);
    const status = method === 'upload'
      ? await upload(io, c, hostDir, req.at, command)
      : await inject(io, c.id, hostDir, req.at, method, command);
    if (status === EXIT_UNSUPPORTED && req.method === 'auto') continue;
    if (req.verbose && status !== EXIT_UNSUPPORTED && status !== EXIT_ATTACH) io.stderr.write(`attach: ${c.name}: used ${method}\n`);
    return status;
  }
  throw new AttachError('no attach method works here');
}

async function inject(io: AttachIo, id: string, hostDir: string, at: string, method: Method, command: readonly string[]): Promise<number> {
  const pid = await io.ns.engine.pidOf(id);
  if (pid === undefined) throw new AttachError('the container stopped');
  try {
    fs.closeSync(native().openContainerRoot(pid, id));
  } catch (error) {
    throw new AttachError(`the engine's pid ${pid} is not a process of this container here (${(error as Error).message})`);
  }
  return io.run(helper, ['inject', '--pid', String(pid), '--source', hostDir, '--target', at, '--method', method,
    '--state', stateFile(id), '--', ...command]);
}

/** Copies hostDir to `at` with the archive API, runs the command with `docker exec`, deletes it. */
async function upload(io: AttachIo, c: {id: string; name: string}, hostDir: string, at: string, command: readonly string[]): Promise<number> {
  const engine = io.ns.engine;
  const {pack} = await import('./pack.js');
  const container = await engine.container(c.id);
  const info = await container.inspect();
  const parent = path.posix.dirname(at);
  const exists = await engine.call(async () => container.infoArchive({path: at})).then(() => true, () => false);
  if (exists) throw new AttachError(`${at} already exists in the container (a previous attach? try attach --cleanup ${c.name})`);
  fs.writeFileSync(stateFile(c.id), `method=upload\ntarget=${at}\n`);
  try {
    await engine.call(async () => container.putArchive(pack(hostDir, path.posix.basename(at)), {path: parent}));
  } catch (error) {
    fs.rmSync(stateFile(c.id), {force: true});
    throw new AttachError(`cannot copy the toolbox into ${c.name}:${parent}: ${(error as {json?: {message?: string}}).json?.message ?? (error as Error).message}`);
  }
  const pathVar = (info.Config.Env ?? []).find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const tty = io.stdinIsTTY ? ['-it'] : ['-i'];
  try {
    return await io.run('docker', ['exec', ...tty, '-e', `PATH=${at}/bin:${pathVar}`, c.id, ...command]);
  } finally {
    spawnSync('docker', ['exec', c.id, `${at}/bin/rm`, '-rf', at], {stdio: 'ignore'});
    fs.rmSync(stateFile(c.id), {force: true});
  }
}

/** Removes what a crashed attach left in the container; returns how many things it removed. */
export async function cleanup(name: string, at: string, io: AttachIo): Promise<number> {
  const c = await runningContainer(io, name);
  const file = stateFile(c.id);
  const state = readState(file);
  const target = state['target'] ?? at;
  if (state['method'] === 'upload') {
    const r = spawnSync('docker', ['exec', c.id, `${target}/bin/rm`, '-rf', target], {stdio: 'ignore'});
    fs.rmSync(file, {force: true});
    return r.status === 0 ? 1 : 0;
  }
  const pid = await io.ns.engine.pidOf(c.id);
  if (pid === undefined) throw new AttachError('the container stopped');
  // Without a state file, remove the target only if the engine says it was added to the container.
  let created = state['created'];
  if (created === undefined) {
    const changes = (await (await io.ns.engine.container(c.id)).changes()) as {Path: string; Kind: number}[] | null;
    if ((changes ?? []).some((ch) => ch.Path === target && ch.Kind === 1)) created = target;
  }
  const args = ['cleanup', '--pid', String(pid), '--target', target, ...(created ? ['--remove-dir', created] : [])];
  const r = spawnSync(helper, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']});
  if (r.status !== 0) throw new AttachError(`cleanup of ${c.name} failed`);
  fs.rmSync(file, {force: true});
  return Number(r.stdout.trim()) || 0;
}
