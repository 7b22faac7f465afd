// attach --method helper: dbox-attach's steps run on the engine's own host, by a short-lived
// container of their own, for engines dbox cannot enter from here (remote engines over TCP, TLS
// or ssh; users who are not root but may use the engine: the docker group). Nothing is uploaded
// into the target: the helper enters its namespaces and mounts the toolbox read-only exactly as
// the local helper does (native/attach-helper.c: native/attach-inject.h's steps, built static).
//
// The helper's image is imported through the Engine API (no registry) from a tar holding only the
// static helper (/dbox-attach-helper) and the toolbox (/toolbox), labelled dbox.attach; it is
// removed as soon as the container exists (the container keeps its layer until it goes). The
// container runs `inject` for the one target and is removed when the program ends (by the
// terminal bridge, and again by the builtin; a helper left by a killed dbox is removed by the
// next attach on that engine).
//
// Its settings, and why each:
//   --pid=host            to see the target's process, prove its identity (its cgroup names the
//                         full id) and open its /proc/<pid> entries; the engine's pid is only a claim
//   --cgroupns=host       so that the target's /proc/<pid>/cgroup paths name the host's cgroups,
//                         which the helper mounts anew in its own mount namespace to join them
//   --network none        it needs none (the program gets the target's network namespace)
//   read-only root, a tmpfs at /run (attach's state while it runs), logging off
//   the engine's default seccomp profile (it allows what the helper needs once CAP_SYS_ADMIN is
//   given), and the program inherits that filter: it runs under the engine's default profile
//   apparmor=unconfined: the engine's AppArmor profile (where the host has AppArmor) forbids every
//   mount, and mounting is the helper's job; the program then runs without an LSM profile, as
//   with the local helper (README, Limits)
// Capabilities: everything dropped, then:
//   SYS_ADMIN    setns into the target's mount, PID, UTS, IPC, network and cgroup namespaces;
//                open_tree, mount_setattr and move_mount of the toolbox; mounting the host's
//                cgroup hierarchies in the helper's private namespace. Why the agent
//                (src/docker/agent-container.ts) can do without it and this cannot: the agent
//                only opens files through /proc/<pid>/root, attach must mount into the target.
//   SYS_CHROOT   setns(CLONE_NEWNS) and the program's chroot into the target's root
//   SYS_PTRACE   opening /proc/<pid>/{ns,root,environ} of a process with other capabilities
//   SETPCAP      giving the program the target process's capability bounding set (dropping)
//   and the target's own capabilities (the engine's defaults and its CapAdd, names checked
//   against the kernel's list): a bounding set can only shrink, so the program can have the
//   target's capabilities only if the helper has them; it gets exactly the target process's set
//   (read by the helper from the kernel, not from the engine).
// no-new-privileges is not set: the program gets it when the target's process has it, as with
// the local helper.
//
// What is trusted: the engine, to run what it is given (one that lies can already run anything on
// its host); engine JSON only through the checks here (capability names) and in the helper (the
// pid). The toolbox is the user's own directory.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type {Engine} from '../docker/engine.js';
import {validContainerId} from '../docker/validate.js';
import {attachHelperStatic, snapshotHelper} from '../self.js';
import {pack} from './pack.js';
import {HELPER_DATA_ROOT} from './snapshot.js';
import {AttachError} from './toolbox.js';

export const HELPER_LABEL = 'dbox.attach';
/** What the helper itself needs (see the header). */
export const HELPER_CAPS = ['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE', 'SETPCAP'];
/** The engine's default capabilities for a container (Docker's and Podman's). */
const ENGINE_DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'];
/** The kernel's capabilities by name (capability(7)). */
const KNOWN_CAPS = new Set(['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO',
  'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND',
  'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE']);

/** The capabilities the helper container asks for: its own, the engine's defaults, the target's CapAdd. */
export function helperCaps(targetInspect: unknown): string[] {
  const add = (targetInspect as {HostConfig?: {CapAdd?: unknown}} | null)?.HostConfig?.CapAdd;
  const extra = Array.isArray(add) ? add.filter((c): c is string => typeof c === 'string')
    .map((c) => c.toUpperCase().replace(/^CAP_/, '')).filter((c) => KNOWN_CAPS.has(c)) : [];
  return [...new Set([...HELPER_CAPS, ...ENGINE_DEFAULT_CAPS, ...extra])];
}

export interface HelperRequest {
  readonly id: string;
  /** The engine's pid for the target: a claim the helper proves or refuses. */
  readonly pid: number;
  readonly caps: readonly string[];
  readonly toolbox: string;
  readonly at: string;
  readonly command: readonly string[];
  readonly tty: boolean;
}

function readBinary(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new AttachError(`the attach helper is not built (${(error as {code?: string}).code ?? 'unreadable'}): run \`npm install\` in the dbox directory`);
  }
}

/** Imports the helper's image, creates its container (not started) with `cmd` and `host` settings, removes the image. */
async function createHelper(engine: Engine, labelId: string, toolbox: string, tty: boolean, cmd: readonly string[],
  host: Record<string, unknown>): Promise<string> {
  const tag = crypto.randomBytes(6).toString('hex');
  const image = `dbox-attach:${tag}`;
  await engine.importImage(pack(toolbox, 'toolbox', [{name: 'dbox-attach-helper', mode: 0o755, bytes: readBinary(attachHelperStatic)},
    {name: 'dbox-snapshot', mode: 0o755, bytes: readBinary(snapshotHelper)}, {name: 'run', mode: 0o755}, {name: 'tmp', mode: 0o755}]),
  'dbox-attach', tag, [`LABEL ${HELPER_LABEL}=${labelId}`]);
  try {
    return await engine.createContainer({
      name: `dbox-attach-${tag}`, Image: image, Labels: {[HELPER_LABEL]: labelId}, Cmd: [...cmd],
      NetworkDisabled: true, Tty: tty, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
      HostConfig: {
        NetworkMode: 'none', CapDrop: ['ALL'], ReadonlyRootfs: true,
        Tmpfs: {'/run': 'rw,nosuid,nodev,noexec,mode=0755,size=1m'}, LogConfig: {Type: 'none', Config: {}}, SecurityOpt: ['apparmor=unconfined'],
        RestartPolicy: {Name: 'no', MaximumRetryCount: 0}, ...host,
      } as never,
    });
  } finally {
    await engine.removeImage(image).catch(() => undefined);
  }
}

/** A helper that injects the toolbox into the running target; its container's id (not started). */
export async function makeHelper(engine: Engine, req: HelperRequest): Promise<string> {
  if (!validContainerId(req.id)) throw new AttachError('not a container id');
  return createHelper(engine, req.id, req.toolbox, req.tty,
    ['/dbox-attach-helper', 'inject', '--pid', String(req.pid), '--id', req.id, '--target', req.at, '--', ...req.command],
    {PidMode: 'host', CgroupnsMode: 'host', CapAdd: [...req.caps]});
}

export interface SnapshotHelperRequest {
  /** The container's id, or the image's (sha256:…): the helper's label. */
  readonly id: string;
  /** The engine's data root on its host (checked: src/docker/layers.ts), bound read-only at HELPER_DATA_ROOT. */
  readonly dataRoot: string;
  /** dbox-snapshot's arguments after its name (snapshotArgs), with /toolbox as the source and the layers below HELPER_DATA_ROOT. */
  readonly args: readonly string[];
  readonly toolbox: string;
  readonly tty: boolean;
}

/**
 * A helper that runs a snapshot of a stopped container's or an image's layers on the engine's
 * host (dbox-snapshot, static, in the same image): the engine binds its own data root read-only
 * at HELPER_DATA_ROOT (it already holds it; nothing is written to it; the layer paths are checked
 * to be of overlay2's shape below it, and dbox-snapshot opens each as native/layers.c does on
 * this machine: no link, root's alone, on the data root's mount; on its own host the engine is
 * trusted to name its own data root; the program inside never sees it, it runs after pivot_root
 * into the overlay), no --pid=host (the snapshot makes namespaces of its own), the capabilities of
 * HELPER_CAPS and the engine's defaults (the snapshot's program gets the defaults less
 * CAP_MKNOD), and no seccomp filter (below).
 */
export async function makeSnapshotHelper(engine: Engine, req: SnapshotHelperRequest): Promise<string> {
  return createHelper(engine, req.id, req.toolbox, req.tty, ['/dbox-snapshot', ...req.args], {
    // Mounts, not Binds: a bind of a directory that has gone meanwhile would make the engine create it on its host.
    CapAdd: helperCaps(null), Mounts: [{Type: 'bind', Source: req.dataRoot, Target: HELPER_DATA_ROOT, ReadOnly: true}],
    // The engine's default seccomp profile forbids pivot_root, and a snapshot without it (a moved
    // mount and chroot) would leave the old root beneath the new one; so no filter, as a snapshot
    // made on this machine has none (README, Limits).
    SecurityOpt: ['apparmor=unconfined', 'seccomp=unconfined'],
  });
}

/** Ends a helper and removes it: SIGTERM first when it still runs (it ends its program and removes its
 *  mount from the target), then, after at most `graceMs`, removal by force. */
export async function removeHelper(engine: Engine, id: string, graceMs = 10_000): Promise<void> {
  const running = async (): Promise<boolean> =>
    (await engine.inspectRaw('containers', id).catch(() => undefined) as {State?: {Running?: unknown}} | undefined)?.State?.Running === true;
  if (await running()) {
    await engine.signalContainer(id, 'SIGTERM').catch(() => undefined);
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (await running())) await new Promise((r) => setTimeout(r, 100));
  }
  await engine.removeContainer(id).catch(() => undefined);
}

/** Removes helpers left by a dbox that was killed: those that no longer run, or were made over a minute ago and never
 *  started (a younger one may be another attach's, about to start). */
export async function removeStaleHelpers(engine: Engine): Promise<void> {
  const now = Date.now() / 1000;
  for (const c of await engine.withLabel(HELPER_LABEL).catch(() => [])) {
    if (c.state === 'exited' || c.state === 'dead' || (c.state === 'created' && now - c.created > 60)) {
      await engine.removeContainer(c.id).catch(() => undefined);
    }
  }
}
