// The only module that talks to the Docker Engine API (through dockerode). Everything above it
// sees plain data (ContainerInfo) and FsError / EngineUnreachable.
import {request as httpRequest} from 'node:http';
import {request as httpsRequest} from 'node:https';
import {PassThrough, type Duplex, type Readable} from 'node:stream';
import type Dockerode from 'dockerode';
import {EngineUnreachable} from '../errors.js';
import {native} from '../native.js';
import {currentEndpoint, type Endpoint} from './endpoints.js';
import {getJson, HttpError} from './unix-json.js';
import {dataRootFromInfo, imagesFromList, layerDirs, validVolumeName, volumeDirFromInspect, type ImageInfo, type LayerSet} from './layers.js';
import {containerFromList, mergedDirFromInspect, processFromInspect, validContainerId, type ContainerInfo} from './validate.js';

export type {ContainerInfo} from './validate.js';

/** A program's connection for Engine.interactive. */
export interface Interactive {
  readonly stream: Duplex;
  readonly tty: boolean;
  /** Without a TTY: the program's stdout and stderr, taken out of Docker's framing. */
  demux(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void;
  resize(rows: number, cols: number): Promise<void>;
  readonly status: Promise<number>;
}

/**
 * docker-modem formats an ssh endpoint's request address as `ssh:host:port`, which Node parses with
 * a DEP0170 warning on every request (the ssh connection itself uses the bare host and works).
 * That one warning, and no other, is dropped.
 */
function quietSshUrlWarning(): void {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' ? (rest[0] as {code?: string}).code : rest[1];
    if (code === 'DEP0170' && String(warning).includes('ssh:')) return;
    (emit as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** dockerode's options for an endpoint: a unix socket, tcp (with TLS material), or ssh. */
export function dockerodeOptions(e: Endpoint): Dockerode.DockerOptions {
  if (e.socketPath) return {socketPath: e.socketPath};
  const url = new URL(e.address);
  if (url.protocol === 'ssh:') {
    quietSshUrlWarning();
    return {protocol: 'ssh', host: url.hostname, port: Number(url.port || 22), ...(url.username ? {username: url.username} : {}),
      sshOptions: {...(process.env['SSH_AUTH_SOCK'] ? {agent: process.env['SSH_AUTH_SOCK']} : {})}};
  }
  const tls = e.tls;
  const https = tls?.ca !== undefined && tls.cert !== undefined && tls.key !== undefined;
  // A remote engine that does not answer fails after 15 s of silence instead of hanging.
  return {protocol: https ? 'https' : 'http', host: url.hostname, port: Number(url.port || (https ? 2376 : 2375)), timeout: 15_000,
    ...(https ? {ca: tls.ca, cert: tls.cert, key: tls.key} : {})};
}

let dockerodeModule: Promise<typeof Dockerode> | undefined;

/** dockerode is loaded on first use: lines that never touch the engine do not pay for it. */
function loadDockerode(): Promise<typeof Dockerode> {
  dockerodeModule ??= import('dockerode').then((m) => m.default);
  return dockerodeModule;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'ENOTFOUND',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_SSL_WRONG_VERSION_NUMBER',
  'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO']);

export class Engine {
  private client: Dockerode | undefined;
  private pending = 0;
  /** The holds (holdRootfs) still open at the engine: each makes a start or removal of its container wait. */
  private readonly holds = new Set<() => Promise<void>>();
  /** Told how many engine calls are in flight (the shell shows a spinner for slow ones). */
  onActivity: ((pending: number) => void) | undefined;

  private async track<T>(work: Promise<T>): Promise<T> {
    this.onActivity?.(++this.pending);
    try {
      return await work;
    } finally {
      this.onActivity?.(--this.pending);
    }
  }

  constructor(readonly endpoint: Endpoint = currentEndpoint()) {}

  /** How messages name this engine: its address, and its context unless it is the default. */
  get label(): string {
    return this.endpoint.name === 'default' ? this.endpoint.address : `${this.endpoint.address} (context "${this.endpoint.name}")`;
  }

  async docker(): Promise<Dockerode> {
    if (!this.client) {
      const Docker = await loadDockerode();
      this.client = new Docker(dockerodeOptions(this.endpoint));
    }
    return this.client;
  }

  /** Runs an engine call, turning connection failures into EngineUnreachable. */
  async call<T>(op: (docker: Dockerode) => Promise<T>): Promise<T> {
    const docker = await this.docker();
    try {
      return await this.track(op(docker));
    } catch (error) {
      const code = (error as {code?: string}).code;
      if (code && unreachableCodes.has(code) && (error as {statusCode?: number}).statusCode === undefined) {
        throw new EngineUnreachable(this.label, code);
      }
      throw error;
    }
  }

  /** A read-only GET: over the unix socket directly when there is one, else through dockerode. */
  private async read<T>(path: string, viaDockerode: (docker: Dockerode) => Promise<T>): Promise<T> {
    const socketPath = this.endpoint.socketPath;
    if (!socketPath) return this.call(viaDockerode);
    try {
      return await this.track(getJson<T>(socketPath, path));
    } catch (error) {
      if (error instanceof HttpError) throw Object.assign(error, {statusCode: error.statusCode});
      throw new EngineUnreachable(this.label, (error as {code?: string}).code ?? (error as Error).message);
    }
  }

  /** The engine's containers; entries it describes badly are left out or renamed (validate.ts), and
   *  dbox's own agent and attach helpers (labels dbox.agent, dbox.attach: machinery, not the user's) are left out. */
  async listContainers(): Promise<ContainerInfo[]> {
    const list = await this.read<unknown>('/containers/json?all=1', (d) => d.listContainers({all: true}));
    if (!Array.isArray(list)) return [];
    const out: ContainerInfo[] = [];
    const names = new Set<string>();
    for (const entry of list) {
      const labels = (entry as {Labels?: unknown} | null)?.Labels;
      if (labels && typeof labels === 'object' && (Object.hasOwn(labels, 'dbox.agent') || Object.hasOwn(labels, 'dbox.attach'))) continue;
      const c = containerFromList(entry);
      // Two containers under one name (a forged list): the second is shown by its id.
      if (c) out.push(names.has(c.name) ? {...c, name: c.id.slice(0, 12)} : c);
      if (c) names.add(out[out.length - 1]!.name);
    }
    return out;
  }

  /**
   * Whether a container runs now (a list may be older than that), and the pid the engine gives for
   * its init process when it does. Only a number in the engine's PID namespace: native/identity.c
   * proves it (or not).
   */
  async processOf(id: string): Promise<{running: boolean; pid?: number}> {
    if (!validContainerId(id)) return {running: false};
    const info = await this.read<unknown>(`/containers/${id}/json`, (d) => d.getContainer(id).inspect());
    return processFromInspect(info);
  }

  /** The pid of a running container's init process (processOf), or undefined when it does not run. */
  async pidOf(id: string): Promise<number | undefined> {
    return (await this.processOf(id)).pid;
  }

  private sharing: boolean | undefined;

  /**
   * Whether the engine runs in this process's PID namespace, so that its pids may name processes
   * here (checked once: the process at the other end of its unix socket, SO_PEERCRED). False for
   * tcp/ssh engines, engines in other PID namespaces, and forwarded sockets whose peer is not in
   * ours. Even when true, each pid is still proven to be the container's before use.
   */
  sharesPids(): boolean {
    if (this.sharing === undefined) {
      const socket = this.endpoint.socketPath;
      try {
        this.sharing = socket !== undefined && native().peerInOurPidNamespace(socket);
      } catch {
        return false; // nobody answers yet: ask again next time
      }
    }
    return this.sharing;
  }

  /** Whether the engine answers within timeoutMs. */
  async ping(timeoutMs = 3000): Promise<boolean> {
    const answer = this.endpoint.socketPath ? getJson(this.endpoint.socketPath, '/_ping', timeoutMs).catch((e: unknown) => {
      // /_ping answers "OK", not JSON: a parse error still means the engine answered.
      if (e instanceof SyntaxError) return 'OK';
      throw e;
    }) : this.call((d) => d.ping());
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref());
    return Promise.race([answer, timeout]).then(() => true, () => false);
  }

  /** Whether the container still exists (it may have been removed while dbox worked on it). */
  async exists(id: string): Promise<boolean> {
    try {
      await this.read(`/containers/${encodeURIComponent(id)}/json`, (d) => d.getContainer(id).inspect());
      return true;
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404) return false;
      throw error;
    }
  }

  /**
   * Follows the engine's container events (create, start, die, rename, destroy…). Calls onEvent
   * with the container id and action; onEnd when the stream ends (engine gone). Returns a stop function.
   */
  async watchContainers(onEvent: (id: string, action: string) => void, onEnd: () => void): Promise<() => void> {
    const stream = (await this.call((d) => d.getEvents({filters: JSON.stringify({type: ['container'], event: ['create', 'start', 'restart', 'die', 'destroy', 'rename', 'pause', 'unpause']})}))) as NodeJS.ReadableStream & {destroy(): void};
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const e = JSON.parse(line) as {id?: unknown; Action?: unknown; Actor?: {ID?: unknown}};
          const id = e.Actor?.ID ?? e.id;
          // An id that is not one still means something changed: the list is read again.
          onEvent(validContainerId(id) ? id : '', typeof e.Action === 'string' ? e.Action.slice(0, 32) : '');
        } catch { /* a partial or foreign line: ignore */ }
      }
    });
    stream.on('end', onEnd);
    stream.on('error', onEnd);
    return () => stream.destroy();
  }

  /**
   * Runs a command in a running container (no TTY) and collects its output. Resolves with the
   * exit code; rejects with statusCode 409 when the container is not running.
   */
  async exec(id: string, cmd: readonly string[], env: readonly string[] = []): Promise<{code: number; stdout: Buffer; stderr: Buffer}> {
    const run = await this.execStream(id, cmd, env);
    const out: Buffer[] = [];
    for await (const chunk of run.stdout) out.push(chunk as Buffer);
    return {...(await run.result), stdout: Buffer.concat(out)};
  }

  /**
   * Runs a command in a running container with its stdout as a stream; `result` settles when the
   * command has ended. Destroying `stdout` early ends the exec's connection.
   */
  async execStream(id: string, cmd: readonly string[], env: readonly string[] = []): Promise<{stdout: Readable; result: Promise<{code: number; stderr: Buffer}>}> {
    return this.call(async (d) => {
      const exec = await d.getContainer(id).exec({Cmd: [...cmd], Env: [...env], AttachStdout: true, AttachStderr: true});
      const stream = (await exec.start({hijack: true, stdin: false})) as NodeJS.ReadableStream & {destroy(): void};
      const stdout = new PassThrough({highWaterMark: 1 << 20});
      const err: Buffer[] = [];
      // demuxStream only calls write() on its targets.
      d.modem.demuxStream(stream, stdout, {write: (b: Buffer) => err.push(b)} as unknown as NodeJS.WritableStream);
      stdout.on('close', () => stream.destroy());
      const ended = new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      const result = ended.then(async () => {
        if (!stdout.destroyed) stdout.end();
        const info = await exec.inspect();
        return {code: info.ExitCode ?? 0, stderr: Buffer.concat(err)};
      }, (error: unknown) => {
        stdout.destroy(error as Error);
        throw error;
      });
      result.catch(() => undefined); // the caller may only read stdout; its error arrives there too
      return {stdout, result};
    });
  }

  // ---- what the dbox agent needs (src/docker/agent-container.ts decides how they are used) ----

  /** The engine's operating system and architecture (GET /version), as it names them ("linux", "amd64"). */
  async platform(): Promise<{os: string; arch: string}> {
    const v = await this.read<unknown>('/version', (d) => d.version());
    const field = (k: string): string => {
      const x = (v as Record<string, unknown> | null)?.[k];
      return typeof x === 'string' ? x.slice(0, 32) : '';
    };
    return {os: field('Os'), arch: field('Arch')};
  }

  /** Ids of the running containers that carry `label` ("key=value"); invalid ids are left out. */
  async runningWithLabel(label: string): Promise<string[]> {
    const filters = JSON.stringify({label: [label], status: ['running']});
    const list = await this.read<unknown>(`/containers/json?filters=${encodeURIComponent(filters)}`,
      (d) => d.listContainers({filters}));
    return Array.isArray(list) ? list.map((c) => (c as {Id?: unknown}).Id).filter(validContainerId) : [];
  }

  /** Imports a root filesystem (a tar) as image `repo:tag` with Dockerfile `changes`; resolves once the engine has it. */
  async importImage(tar: Readable, repo: string, tag: string, changes: readonly string[]): Promise<void> {
    await this.call(async (d) => {
      const progress = (await d.importImage(tar as unknown as string, {repo, tag, changes: [...changes]} as object)) as unknown as Readable;
      // The answer is a stream of JSON messages; an error arrives as one of them.
      let text = '';
      for await (const chunk of progress) text = (text + (chunk as Buffer).toString('utf8')).slice(-4096);
      const error = /"error"\s*:\s*"([^"]{0,300})/.exec(text);
      if (error) throw new Error(`the engine refused the import: ${error[1]}`);
    });
  }

  /** Removes an image by reference, forced (a container created from it keeps its layers). */
  async removeImage(ref: string): Promise<void> {
    await this.call((d) => d.getImage(ref).remove({force: true}));
  }

  /** Creates a container; resolves with its id. */
  async createContainer(spec: Dockerode.ContainerCreateOptions): Promise<string> {
    const c = await this.call((d) => d.createContainer(spec));
    if (!validContainerId(c.id)) throw new Error('the engine answered a create without a valid id');
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call((d) => d.getContainer(id).start());
  }

  async removeContainer(id: string): Promise<void> {
    await this.call((d) => d.getContainer(id).remove({force: true}));
  }

  /**
   * Runs `cmd` in a running container with stdin attached and no TTY: the hijacked connection
   * itself, whose incoming bytes carry Docker's stdout/stderr framing (agent-stream.ts takes it
   * apart) and whose outgoing bytes are the command's stdin.
   */
  async execDuplex(id: string, cmd: readonly string[]): Promise<Duplex> {
    return this.call(async (d) => {
      const exec = await d.getContainer(id).exec({Cmd: [...cmd], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false});
      const socket = (await exec.start({hijack: true, stdin: true})) as Duplex & {setTimeout?(ms: number): void};
      socket.setTimeout?.(0); // a long-lived stream: the request's timeout does not apply to it
      return socket;
    });
  }

  // ---- what attach needs (src/attach decides how they are used) ----

  /** A container's or an image's inspect answer, as the engine sent it (the caller validates it). */
  async inspectRaw(kind: 'containers' | 'images', ref: string): Promise<unknown> {
    // A reference as the engine's routes take it (an image's may hold `/`, `:` and `@`): nothing else reaches the path.
    if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,255}$/.test(ref) || ref.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw Object.assign(new Error('no such object'), {statusCode: 404});
    }
    return this.read<unknown>(`/${kind}/${ref}/json`,
      (d) => (kind === 'containers' ? d.getContainer(ref).inspect() : d.getImage(ref).inspect()));
  }

  /** The containers, in any state, that carry `label` ("key=value" or "key"): ids (invalid ones left out) and states. */
  async withLabel(label: string): Promise<{id: string; state: string; created: number}[]> {
    const filters = JSON.stringify({label: [label]});
    const list = await this.read<unknown>(`/containers/json?all=1&filters=${encodeURIComponent(filters)}`,
      (d) => d.listContainers({all: true, filters}));
    if (!Array.isArray(list)) return [];
    return list.map((c) => ({id: (c as {Id?: unknown}).Id, state: (c as {State?: unknown}).State, created: (c as {Created?: unknown}).Created}))
      .filter((c): c is {id: string; state: string; created: number} =>
        validContainerId(c.id) && typeof c.state === 'string' && typeof c.created === 'number' && Number.isFinite(c.created));
  }

  /** Sends a signal to a container's main process. */
  async signalContainer(id: string, signal: string): Promise<void> {
    await this.call((d) => d.getContainer(id).kill({signal}));
  }

  /**
   * A program with the caller's terminal (or pipes): an exec in a running container, or a
   * created container attached, then started. `stream` is the hijacked connection: raw bytes
   * with a TTY, else Docker's stdout/stderr framing (`demux` takes it apart); its writable side
   * is the program's stdin (end() closes it). `status` settles with the exit status.
   */
  async interactive(target: {exec: {id: string; cmd: readonly string[]; env: readonly string[]}} | {container: string}, tty: boolean): Promise<Interactive> {
    return this.call(async (d) => {
      if ('exec' in target) {
        const exec = await d.getContainer(target.exec.id).exec({Cmd: [...target.exec.cmd], Env: [...target.exec.env], AttachStdin: true,
          AttachStdout: true, AttachStderr: true, Tty: tty});
        const stream = (await exec.start({hijack: true, stdin: true, Tty: tty})) as Duplex & {setTimeout?(ms: number): void};
        stream.setTimeout?.(0);
        const ended = new Promise<void>((resolve) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', () => resolve());
        });
        return {
          stream, tty, demux: (out, err) => d.modem.demuxStream(stream, out, err),
          resize: async (rows, cols) => void (await exec.resize({h: rows, w: cols})),
          status: ended.then(async () => (await exec.inspect()).ExitCode ?? 1),
        };
      }
      const c = d.getContainer(target.container);
      const stream = (await c.attach({stream: true, stdin: true, stdout: true, stderr: true, hijack: true})) as unknown as Duplex & {setTimeout?(ms: number): void};
      stream.setTimeout?.(0);
      await c.start();
      // After the start: 'not-running' answers at once for a program that has already ended, with its status.
      const waited = c.wait({condition: 'not-running'}) as Promise<{StatusCode?: unknown}>;
      waited.catch(() => undefined);
      // Its status once it has exited and all of its output has arrived (the stream ends after the exit).
      const ended = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      return {
        stream, tty, demux: (out, err) => d.modem.demuxStream(stream, out, err),
        resize: async (rows, cols) => void (await c.resize({h: rows, w: cols})),
        // (at most 5 s more for the output: a stream that never ends must not hold the status back)
        status: waited.then(async (r) => {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
          clearTimeout(timer);
          return typeof r.StatusCode === 'number' && Number.isInteger(r.StatusCode) ? r.StatusCode : 1;
        }),
      };
    });
  }

  private dataRootCache: Promise<string | undefined> | undefined;

  /** The engine's data root (GET /info DockerRootDir), when it is a canonical path (layers.ts). */
  dataRoot(): Promise<string | undefined> {
    this.dataRootCache ??= this.read<unknown>('/info', (d) => d.info()).then(dataRootFromInfo);
    this.dataRootCache.catch(() => (this.dataRootCache = undefined));
    return this.dataRootCache;
  }

  /** A container's or an image's layer directories, top first (overlay2 only; layers.ts), else undefined. */
  async layersOf(kind: 'containers' | 'images', ref: string): Promise<LayerSet | undefined> {
    const root = await this.dataRoot();
    if (!root) return undefined;
    const set = layerDirs(await this.inspectRaw(kind, ref), root);
    return 'why' in set ? undefined : set;
  }

  /** The engine's tagged images: repo:tag names (each at most once) and their ids (validate.ts rules for ids). */
  async listImages(): Promise<ImageInfo[]> {
    const list = await this.read<unknown>('/images/json', (d) => d.listImages());
    return imagesFromList(list);
  }

  /** The engine's local volumes' names (Docker's grammar; others are left out). */
  async listVolumes(): Promise<string[]> {
    // Docker 20.10 now and then answers `"Volumes": null` for a list that has volumes (seen under
    // concurrent requests): asked again, a few times, before taking it for an empty list.
    // (A name in a path does not depend on it: hasVolume asks for that one volume.)
    let list: unknown;
    for (let i = 0; i < 5 && !Array.isArray(list); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 10 << i));
      list = ((await this.read<unknown>('/volumes', (d) => d.listVolumes())) as {Volumes?: unknown} | null)?.Volumes;
    }
    return Array.isArray(list) ? [...new Set(list.map((v) => (v as {Name?: unknown} | null)?.Name).filter(validVolumeName))] : [];
  }

  /** Whether the engine has the volume `name` (asked for that one, never from the list). */
  async hasVolume(name: string): Promise<boolean> {
    if (!validVolumeName(name)) return false;
    try {
      const v = await this.read<unknown>(`/volumes/${name}`, (d) => d.getVolume(name).inspect());
      return (v as {Name?: unknown} | null)?.Name === name;
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404) return false;
      throw error;
    }
  }

  /** A volume's directory on the engine's host (layers.ts), else undefined. */
  async volumeDir(name: string): Promise<{dataRoot: string; dir: string} | undefined> {
    const root = await this.dataRoot();
    if (!root || !validVolumeName(name)) return undefined;
    const dir = volumeDirFromInspect(await this.read<unknown>(`/volumes/${name}`, (d) => d.getVolume(name).inspect()), root);
    return dir ? {dataRoot: root, dir} : undefined;
  }

  /** Where the engine mounts a stopped container's root filesystem (overlay2 only; validate.ts). */
  async mergedDir(id: string): Promise<string | undefined> {
    if (!validContainerId(id)) return undefined;
    return mergedDirFromInspect(await this.read<unknown>(`/containers/${id}/json`, (d) => d.getContainer(id).inspect()));
  }

  /**
   * Holds a stopped container's root filesystem mounted (at its MergedDir) and its start waiting:
   * an archive upload to "/" whose body stays open until release(), which sends an empty archive:
   * nothing the engine would not do itself, and nothing changes. A request of its own (node:http,
   * not dockerode, which sends nothing before the body's first bytes), without a timeout, on a
   * connection of its own. `ended` settles with the engine's answer (early when it refuses: a
   * running or removed container). Not over ssh.
   */
  /** Whether holdRootfs can be asked of this engine (not over ssh). */
  get canHoldRootfs(): boolean {
    return !this.endpoint.address.startsWith('ssh:');
  }

  holdRootfs(id: string): {ended: Promise<void>; release(): Promise<void>} {
    const o = dockerodeOptions(this.endpoint) as {socketPath?: string; protocol?: string; host?: string; port?: number; ca?: string;
      cert?: string; key?: string};
    if (!validContainerId(id) || o.protocol === 'ssh') {
      const refused = Promise.reject(new Error('no hold over ssh'));
      refused.catch(() => undefined);
      return {ended: refused, release: async () => undefined};
    }
    const https = o.protocol === 'https';
    const req = (https ? httpsRequest : httpRequest)({
      ...(o.socketPath ? {socketPath: o.socketPath} : {host: o.host, port: o.port}),
      ...(https ? {ca: o.ca, cert: o.cert, key: o.key} : {}),
      method: 'PUT', path: `/containers/${id}/archive?path=%2F`, agent: false,
      headers: {'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked'},
    });
    req.setTimeout(0);
    const ended = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`the engine answered ${res.statusCode}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    ended.catch(() => undefined);
    req.flushHeaders(); // the engine mounts the filesystem as the request arrives
    const release = async (): Promise<void> => {
      if (!req.writableEnded) req.end(Buffer.alloc(1024)); // an archive with no entries: its end-of-archive blocks
      await ended.catch(() => undefined);
    };
    this.holds.add(release);
    ended.finally(() => this.holds.delete(release)).catch(() => undefined);
    return {ended, release};
  }

  /**
   * Lets go of every hold this engine object still has open, and answers once the engine has
   * answered each. Whoever removes or starts a container next in the same process (a synchronous
   * `docker rm`, say) must call this first: the engine would wait for the hold, and the hold's own
   * idle release could never run.
   */
  async releaseHolds(): Promise<void> {
    await Promise.all([...this.holds].map((release) => release()));
  }

  async container(id: string): Promise<Dockerode.Container> {
    return (await this.docker()).getContainer(id);
  }
}
