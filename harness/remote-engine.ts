// A second Docker engine for remote tests: its own data-root, exec-root and pidfile, listening
// on a unix socket and on tcp://127.0.0.1:<port> with TLS certificates made here by openssl.
// Only loopback. Stopped by its pid, its directories removed.
// Options: `pidNamespace` runs it (and its containerd and containers) in a PID namespace of its
// own (util-linux unshare, with a /proc of its own), so the pids it reports are not ours;
// `netns` runs it in a network namespace the caller made, listening on `listen` (an address of
// that namespace) instead of loopback.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {contextDir} from '../src/docker/context-dir.js';
import {detach, mountTable} from '../src/fuse/mounts.js';

export interface RemoteEngine {
  readonly dir: string;
  readonly socket: string;
  readonly address: string;
  readonly certs: string;
  docker(...args: string[]): string;
  /** Writes a docker context named `name` for this engine into `home`/.docker. */
  context(home: string, name: string, certs?: string): void;
  stop(): void;
}

const freePort = (): Promise<number> => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(port));
  });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in dir. */
export function makeCerts(dir: string, cn = 'dbox-test'): void {
  fs.mkdirSync(dir, {recursive: true});
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, {cwd: dir, stdio: 'ignore'});
  };
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}-ca`, '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server-key.pem', '-out', 'server.csr');
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server-cert.pem');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=client', '-keyout', 'key.pem', '-out', 'client.csr');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', 'client.ext', '-out', 'cert.pem');
}

export function writeContext(home: string, name: string, host: string, certs?: string): void {
  const id = contextDir(name);
  const meta = path.join(home, '.docker', 'contexts', 'meta', id);
  fs.mkdirSync(meta, {recursive: true});
  fs.writeFileSync(path.join(meta, 'meta.json'), JSON.stringify({Name: name, Metadata: {}, Endpoints: {docker: {Host: host, SkipTLSVerify: false}}}));
  if (certs) {
    const tls = path.join(home, '.docker', 'contexts', 'tls', id, 'docker');
    fs.mkdirSync(tls, {recursive: true});
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.copyFileSync(path.join(certs, f), path.join(tls, f));
  }
}

export interface RemoteOptions {
  readonly pidNamespace?: boolean;
  /** A network namespace (ip netns) to run in, and the address there to listen on. */
  readonly netns?: {readonly name: string; readonly listen: string};
}

export async function startRemoteEngine(options: RemoteOptions = {}): Promise<RemoteEngine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-engine2-'));
  const certs = path.join(dir, 'certs');
  makeCerts(certs);
  const port = options.netns ? 2376 : await freePort();
  const host = options.netns?.listen ?? '127.0.0.1';
  const socket = path.join(dir, 'docker.sock');
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'w');
  // nsenter, not `ip netns exec`: that one remounts /sys, which hides the cgroup mounts dockerd needs.
  const wrap = [...(options.netns ? ['nsenter', `--net=/run/netns/${options.netns.name}`, '--'] : []),
    ...(options.pidNamespace ? ['unshare', '--pid', '--fork', '--kill-child=SIGTERM', '--mount-proc'] : [])];
  const daemon = spawn(wrap[0] ?? 'dockerd', [...wrap.slice(1), ...(wrap.length ? ['dockerd'] : []),
    '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '--pidfile', path.join(dir, 'dockerd.pid'),
    '-H', `unix://${socket}`, '-H', `tcp://${host}:${port}`,
    '--tlsverify', '--tlscacert', path.join(certs, 'ca.pem'), '--tlscert', path.join(certs, 'server-cert.pem'),
    '--tlskey', path.join(certs, 'server-key.pem'),
    '--bridge=none', '--iptables=false', '--ip-masq=false',
  ], {stdio: ['ignore', log, log], detached: true});
  const docker = (...args: string[]): string =>
    execFileSync('docker', ['-H', `unix://${socket}`, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim();
  for (let i = 0; ; i++) {
    if (spawnSync('docker', ['-H', `unix://${socket}`, 'info'], {stdio: 'ignore'}).status === 0) break;
    if (i > 120) throw new Error(`second dockerd did not start:\n${fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  // dockerd itself, to wait for at the end: nsenter execs it, unshare forks it.
  const inner = options.pidNamespace && daemon.pid
    ? Number(fs.readFileSync(`/proc/${daemon.pid}/task/${daemon.pid}/children`, 'utf8').trim().split(/\s+/)[0]) || undefined
    : daemon.pid;
  return {
    dir, socket, certs, address: `tcp://${host}:${port}`, docker,
    context: (home, name, c = certs) => writeContext(home, name, `tcp://${host}:${port}`, c),
    stop() {
      spawnSync('docker', ['-H', `unix://${socket}`, 'rm', '-f', ...docker('ps', '-aq').split('\n').filter(Boolean)], {stdio: 'ignore'});
      if (inner && inner !== daemon.pid) {
        try {
          process.kill(inner, 'SIGTERM');
        } catch { /* gone */ }
        for (let i = 0; i < 80 && spawnSync('kill', ['-0', String(inner)]).status === 0; i++) spawnSync('sleep', ['0.25']);
      }
      if (daemon.pid) {
        try {
          process.kill(daemon.pid, 'SIGTERM');
        } catch { /* gone */ }
        for (let i = 0; i < 80 && spawnSync('kill', ['-0', String(daemon.pid)]).status === 0; i++) spawnSync('sleep', ['0.25']);
      }
      for (const m of mountTable().map((e) => e.mountPoint).filter((p) => p.startsWith(`${dir}/`)).sort().reverse()) detach(m);
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}
