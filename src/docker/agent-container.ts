// The dbox agent's container on an engine: found by its label, or made (the image imported from a
// tar holding only the static helper, no registry), started, and entered by an exec whose stdin is
// attached (the one stream a dbox process speaks to it over; agent-stream.ts).
//
// Its privileges, and why each (everything else is dropped). Each was found needed by trying the
// agent without it (read, list, write, chmod, chown, set-id, device nodes on files of another uid):
//   --pid=host            to see the processes of the containers it serves and open their
//                         /proc/<pid>/root (and to prove their identity from their cgroup)
//   CAP_SYS_PTRACE        /proc/<pid>/root of a process is open to us only when ptrace would be:
//                         container processes have capabilities the agent lacks, or other uids
//                         (without it: EACCES, nothing can be served)
//   CAP_DAC_OVERRIDE      reading, listing and writing container files whatever their modes, as
//                         root does on the engine's own host (without it: EACCES on others' files)
//   CAP_FOWNER            chmod and utimes of files the agent does not own (else EPERM)
//   CAP_CHOWN             giving a file its owner (chown, cp -p, a replaced file's owner kept)
//   CAP_FSETID            keeping set-id bits a request asks for (else silently dropped)
//   CAP_MKNOD             tree copies of device nodes between containers (cp -a, as the local driver)
//   CAP_SYS_ADMIN         mounting: an image's or a stopped container's layers become one read-only
//                         overlay (native/layers.c), a *detached* mount that lives in no mount
//                         namespace and goes with its last fd, so the container is read without
//                         the engine (no archive, no lock on the container: inspect and start never
//                         wait for a read). Without it: EPERM, and those go through the archive API.
//   CAP_SYS_CHROOT        with SYS_ADMIN, what setns(2) into a mount namespace needs: the kernel
//                         assembles an overlay only from directories of the caller's own mount
//                         namespace (EINVAL otherwise), so a short-lived child of the agent joins
//                         the engine's (its containerd-shim's) and hands the mount back; the
//                         agent itself never changes namespace.
// With SYS_ADMIN and --pid=host the agent is as strong as root on the engine's host, which its
// other capabilities nearly were already (PTRACE over every process); what keeps it harmless is
// what it runs: only the requests of a client that holds the Engine API (i.e. root there).
// CAP_DAC_READ_SEARCH is not needed (DAC_OVERRIDE covers reading and searching) and is left out on
// purpose: it is also what open_by_handle_at needs, the classic way out of a container.
//   --network none        it needs no network; the exec stream is its only way in
//   --read-only, no-new-privileges, the engine's default seccomp profile (which allows openat2
//   since Docker 20.10), logging off (nothing it prints is kept), AutoRemove.
// Running containers' files go through /proc/<pid>/root fds (no mount, no namespace entered). Nothing is left: the keeper exits after its idle time and the engine
// removes the container; the image is removed as soon as the container exists (the container
// keeps its layer until it is removed itself).
//
// What it trusts: the engine, to run what it is given (an engine that lies could run anything in
// the agent's place, which is why the client checks every byte the agent sends; and a lying
// engine can already change its containers at will). Engine JSON is read through engine.ts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import {Readable, type Duplex} from 'node:stream';
import tar from 'tar-stream';
import {agentHelper} from '../self.js';
import type {Engine} from './engine.js';

export const AGENT_LABEL = 'dbox.agent';
export const AGENT_CAPS = ['SYS_PTRACE', 'DAC_OVERRIDE', 'FOWNER', 'CHOWN', 'FSETID', 'MKNOD', 'SYS_ADMIN', 'SYS_CHROOT'];
/** Seconds the agent stays without any dbox process (DBOX_AGENT_IDLE sets it for agents made from now on). */
export const DEFAULT_IDLE_SECONDS = 120;

interface Binary {
  readonly bytes: Buffer;
  /** sha256 of the binary, hex: the label's value, and (12 digits) the image tag and container name. */
  readonly hash: string;
}

let binary: Binary | undefined;

function agentBinary(): Binary {
  if (!binary) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(agentHelper);
    } catch (error) {
      throw new Error(`the agent is not built (${(error as {code?: string}).code ?? 'unreadable'}): run \`npm install\` in the dbox directory`);
    }
    binary = {bytes, hash: crypto.createHash('sha256').update(bytes).digest('hex')};
  }
  return binary;
}

/** The agent binary's hash (sha256, hex): what its image, container and doors are named after. */
export const agentHash = (): string => agentBinary().hash;

/** Docker's name for this machine's architecture (the agent is built here, for here). */
export const engineArch: Record<string, string> = {x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'};

function idleSeconds(): number {
  const v = Number(process.env['DBOX_AGENT_IDLE']);
  return Number.isInteger(v) && v >= 1 && v <= 86_400 ? v : DEFAULT_IDLE_SECONDS;
}

/** A tar holding only the helper, as /dbox-agent (root-owned, 0755). */
async function imageTar(bytes: Buffer): Promise<Readable> {
  const pack = tar.pack();
  pack.entry({name: 'dbox-agent', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0), size: bytes.length}, bytes);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Readable.from([Buffer.concat(chunks)]);
}

const status = (e: unknown): number | undefined => (e as {statusCode?: number}).statusCode;

/** Why the engine refused, in a few words of its own (bounded, one line). */
export function engineWords(e: unknown): string {
  const json = (e as {json?: {message?: unknown}}).json;
  const text = typeof json?.message === 'string' ? json.message : (e as Error).message ?? String(e);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').slice(0, 300);
}

/** A refusal that another try will not change (wrong platform, the engine refuses the container). */
export class AgentRefused extends Error {}

/** Makes and starts the agent's container; resolves with its id. */
async function makeAgent(engine: Engine, bin: Binary): Promise<string> {
  const tag = bin.hash.slice(0, 12);
  const image = `dbox-agent:${tag}`;
  const name = `dbox-agent-${tag}`;
  await engine.importImage(await imageTar(bin.bytes), 'dbox-agent', tag, [`LABEL ${AGENT_LABEL}=${bin.hash}`]);
  let id: string;
  try {
    id = await engine.createContainer({
      name, Image: image, Cmd: ['/dbox-agent', 'keep', String(idleSeconds())], Labels: {[AGENT_LABEL]: bin.hash},
      NetworkDisabled: true, AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false,
      HostConfig: {
        AutoRemove: true, NetworkMode: 'none', PidMode: 'host', CapDrop: ['ALL'], CapAdd: AGENT_CAPS, ReadonlyRootfs: true,
        SecurityOpt: ['no-new-privileges'], LogConfig: {Type: 'none', Config: {}}, RestartPolicy: {Name: 'no', MaximumRetryCount: 0},
      },
    });
  } finally {
    // Nothing is left of the image once the container exists (it holds its layer), or if it could not be made.
    await engine.removeImage(image).catch(() => undefined);
  }
  try {
    await engine.startContainer(id);
  } catch (error) {
    await engine.removeContainer(id).catch(() => undefined);
    throw new AgentRefused(`the engine would not start it: ${engineWords(error)}`);
  }
  return id;
}

/**
 * An exec of `dbox-agent serve` in the engine's agent container, started first when there is
 * none. Retries the races of several dbox processes (a name taken meanwhile, an image removed by
 * another's start, an agent exiting as we arrive) for a few seconds.
 */
export async function openAgentExec(engine: Engine): Promise<{socket: Duplex; id: string; started: boolean}> {
  const bin = agentBinary();
  const {os, arch} = await engine.platform();
  if (os !== 'linux' || arch !== engineArch[process.arch]) {
    throw new AgentRefused(`the engine runs ${os || '?'}/${arch || '?'}, the agent is built for linux/${engineArch[process.arch] ?? process.arch}`);
  }
  const deadline = Date.now() + 15_000;
  let started = false;
  let last: unknown;
  while (Date.now() < deadline) {
    let [id] = await engine.runningWithLabel(`${AGENT_LABEL}=${bin.hash}`);
    if (!id) {
      try {
        id = await makeAgent(engine, bin);
        started = true;
      } catch (error) {
        if (error instanceof AgentRefused) throw error;
        last = error;
        // 409: another dbox process is making it (its name is taken); 404: an image removed under us.
        if (status(error) !== 409 && status(error) !== 404) throw new AgentRefused(engineWords(error));
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
    }
    try {
      return {socket: await engine.execDuplex(id, ['/dbox-agent', 'serve']), id, started};
    } catch (error) {
      last = error; // it stopped between the lookup and the exec (idle): make a new one
      if (status(error) !== 409 && status(error) !== 404) throw new AgentRefused(engineWords(error));
    }
  }
  throw new AgentRefused(`it did not start in time (${engineWords(last)})`);
}
