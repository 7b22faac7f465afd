// The only module that talks to the Docker Engine API (through dockerode). Everything above it
// sees plain data (ContainerInfo) and FsError / EngineUnreachable.
import type Dockerode from 'dockerode';
import {EngineUnreachable} from '../vfs/errors.js';

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** created | running | paused | restarting | removing | exited | dead */
  readonly state: string;
  readonly status: string;
  readonly created: number;
}

export interface Endpoint {
  /** How the endpoint is shown in messages: unix:///var/run/docker.sock, tcp://… */
  readonly address: string;
  /** True when the engine runs on this machine, so /proc/<pid>/root of its containers is reachable. */
  readonly local: boolean;
}

export function endpointFromEnv(env: NodeJS.ProcessEnv = process.env): Endpoint {
  const host = env['DOCKER_HOST'];
  if (!host) return {address: 'unix:///var/run/docker.sock', local: true};
  return {address: host, local: host.startsWith('unix://')};
}

let dockerodeModule: Promise<typeof Dockerode> | undefined;

/** dockerode is loaded on first use: lines that never touch the engine do not pay for it. */
function loadDockerode(): Promise<typeof Dockerode> {
  dockerodeModule ??= import('dockerode').then((m) => m.default);
  return dockerodeModule;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

export class Engine {
  private client: Dockerode | undefined;

  constructor(readonly endpoint: Endpoint = endpointFromEnv()) {}

  async docker(): Promise<Dockerode> {
    if (!this.client) {
      const Docker = await loadDockerode();
      // docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself.
      this.client = new Docker();
    }
    return this.client;
  }

  /** Runs an engine call, turning connection failures into EngineUnreachable. */
  async call<T>(op: (docker: Dockerode) => Promise<T>): Promise<T> {
    const docker = await this.docker();
    try {
      return await op(docker);
    } catch (error) {
      const code = (error as {code?: string}).code;
      if (code && unreachableCodes.has(code) && (error as {statusCode?: number}).statusCode === undefined) {
        throw new EngineUnreachable(this.endpoint.address, code);
      }
      throw error;
    }
  }

  async listContainers(): Promise<ContainerInfo[]> {
    const list = await this.call((d) => d.listContainers({all: true}));
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      image: c.Image,
      state: c.State,
      status: c.Status,
      created: c.Created,
    }));
  }

  /** The pid of a running container's init process, or undefined when it does not run. */
  async pidOf(id: string): Promise<number | undefined> {
    const info = await this.call((d) => d.getContainer(id).inspect());
    return info.State.Running && info.State.Pid > 0 ? info.State.Pid : undefined;
  }

  async container(id: string): Promise<Dockerode.Container> {
    return (await this.docker()).getContainer(id);
  }
}
