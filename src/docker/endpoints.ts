// Docker endpoints as the docker CLI finds them: DOCKER_HOST (with DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH), DOCKER_CONTEXT, `currentContext` in ~/.docker/config.json, and every context
// in ~/.docker/contexts/meta/<sha256(name)>/meta.json with its TLS material in
// ~/.docker/contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem.
import fs from 'node:fs';
import path from 'node:path';
import {DboxError} from '../errors.js';

export class NoSuchContext extends DboxError {}

export interface Tls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Verify the server's certificate (DOCKER_TLS_VERIFY, or a context without SkipTLSVerify). */
  readonly verify: boolean;
}

export interface Endpoint {
  /** The context's name ("default" for DOCKER_HOST or the local socket). */
  readonly name: string;
  /** unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host */
  readonly address: string;
  readonly socketPath?: string;
  readonly tls?: Tls;
}

const DEFAULT_SOCKET = 'unix:///var/run/docker.sock';

function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env['DOCKER_CONFIG'] || path.join(env['HOME'] || '/root', '.docker');
}

function readTls(dir: string, verify: boolean): Tls | undefined {
  const read = (f: string): string | undefined => {
    try {
      return fs.readFileSync(path.join(dir, f), 'utf8');
    } catch {
      return undefined;
    }
  };
  const ca = read('ca.pem');
  const cert = read('cert.pem');
  const key = read('key.pem');
  if (!ca && !cert && !key) return undefined;
  return {verify, ...(ca ? {ca} : {}), ...(cert ? {cert} : {}), ...(key ? {key} : {})};
}

export function endpointOf(name: string, address: string, tls?: Tls): Endpoint {
  const socketPath = address.startsWith('unix://') ? address.slice('unix://'.length) : undefined;
  return {name, address, ...(socketPath ? {socketPath} : {}), ...(tls ? {tls} : {})};
}

/** The "default" endpoint: DOCKER_HOST with its TLS variables, else the local socket. */
export function defaultEndpoint(env: NodeJS.ProcessEnv = process.env): Endpoint {
  const host = env['DOCKER_HOST'] || DEFAULT_SOCKET;
  const verify = env['DOCKER_TLS_VERIFY'] !== undefined && env['DOCKER_TLS_VERIFY'] !== '' && env['DOCKER_TLS_VERIFY'] !== '0';
  const certPath = env['DOCKER_CERT_PATH'] || (verify ? dockerConfigDir(env) : undefined);
  const tls = host.startsWith('tcp://') && certPath ? readTls(certPath, verify) : undefined;
  return endpointOf('default', host, tls);
}

interface ContextMeta {
  Name: string;
  Endpoints?: {docker?: {Host?: string; SkipTLSVerify?: boolean}};
}

/** Every endpoint: "default" and each context, by name. */
export function listEndpoints(env: NodeJS.ProcessEnv = process.env): Endpoint[] {
  const out = [defaultEndpoint(env)];
  const base = path.join(dockerConfigDir(env), 'contexts');
  let dirs: string[] = [];
  try {
    dirs = fs.readdirSync(path.join(base, 'meta'));
  } catch {
    return out;
  }
  for (const dir of dirs) {
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(base, 'meta', dir, 'meta.json'), 'utf8')) as ContextMeta;
      const host = meta.Endpoints?.docker?.Host;
      if (!meta.Name || !host || meta.Name === 'default') continue;
      const tls = readTls(path.join(base, 'tls', dir, 'docker'), meta.Endpoints?.docker?.SkipTLSVerify !== true);
      out.push(endpointOf(meta.Name, host, tls));
    } catch {
      // a damaged context is left out, as the docker CLI reports it only when used
    }
  }
  return out.sort((a, b) => (a.name === 'default' ? -1 : b.name === 'default' ? 1 : a.name < b.name ? -1 : 1));
}

/** The name of the current context: DOCKER_HOST wins, then DOCKER_CONTEXT, then config.json. */
export function currentContextName(env: NodeJS.ProcessEnv = process.env): string {
  if (env['DOCKER_HOST']) return 'default';
  if (env['DOCKER_CONTEXT']) return env['DOCKER_CONTEXT'];
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dockerConfigDir(env), 'config.json'), 'utf8')) as {currentContext?: string};
    return config.currentContext || 'default';
  } catch {
    return 'default';
  }
}

/** The endpoint /containers shows. A context that does not exist is an error naming it. */
export function currentEndpoint(env: NodeJS.ProcessEnv = process.env): Endpoint {
  const name = currentContextName(env);
  const found = listEndpoints(env).find((e) => e.name === name);
  if (!found) throw new NoSuchContext(`context "${name}" does not exist (docker context ls lists them; DOCKER_CONTEXT or ~/.docker/config.json names it)`);
  return found;
}
