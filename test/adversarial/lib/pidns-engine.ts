// A second dockerd in a PID namespace of its own (`unshare --pid --fork --mount-proc`): the pids it
// reports (State.Pid) are numbers of that namespace, which on this host name other processes, or
// none. It listens on a unix socket (so dbox takes it for a local engine) and on
// tcp://127.0.0.1:<port> with TLS (a remote engine: dbox serves its running containers through the
// engine, exec and archive). Its own --data-root/--exec-root/--pidfile, --bridge=none
// --iptables=false --ip-masq=false; its mounts live in its private mount namespace. stop() removes
// its containers, ends it by pid and removes its directories.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {makeCerts} from '../../../harness/remote-engine.js';
import {gone} from './run.js';

export interface PidnsEngine {
  readonly dir: string;
  readonly socket: string;
  readonly tcp: string;
  readonly certs: string;
  /** The environment for dbox to reach it by unix socket, or by TLS. */
  unixEnv(): NodeJS.ProcessEnv;
  tlsEnv(): NodeJS.ProcessEnv;
  docker(...args: string[]): string;
  /** Copies an image of the host engine into this one (docker save | docker load: no registry). */
  load(tag: string): void;
  stop(): void;
}

const freePort = (): Promise<number> => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(port));
  });
});

export async function startPidnsEngine(base: string): Promise<PidnsEngine> {
  const dir = fs.mkdtempSync(path.join(base, 'engine-pidns-'));
  const certs = path.join(dir, 'certs');
  makeCerts(certs);
  const port = await freePort();
  const socket = path.join(dir, 'docker.sock');
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'w');
  const wrapper = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--',
    'dockerd', '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '--pidfile', path.join(dir, 'dockerd.pid'),
    '-H', `unix://${socket}`, '-H', `tcp://127.0.0.1:${port}`,
    '--tlsverify', '--tlscacert', path.join(certs, 'ca.pem'), '--tlscert', path.join(certs, 'server-cert.pem'),
    '--tlskey', path.join(certs, 'server-key.pem'),
    '--bridge=none', '--iptables=false', '--ip-masq=false'], {stdio: ['ignore', log, log], detached: true});
  const docker = (...args: string[]): string =>
    execFileSync('docker', ['-H', `unix://${socket}`, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim();
  const deadline = Date.now() + 60_000;
  while (spawnSync('docker', ['-H', `unix://${socket}`, 'info'], {stdio: 'ignore'}).status !== 0) {
    if (Date.now() > deadline || wrapper.exitCode !== null) {
      throw new Error(`the second dockerd did not start:\n${fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  /** dockerd's pid on this host: the child of the unshare wrapper. */
  const daemonPid = (): number | undefined => {
    const r = spawnSync('pgrep', ['-P', String(wrapper.pid)], {encoding: 'utf8'}).stdout.trim().split('\n').filter(Boolean);
    return r[0] ? Number(r[0]) : undefined;
  };
  return {
    dir, socket, certs, tcp: `tcp://127.0.0.1:${port}`, docker,
    unixEnv: () => ({DOCKER_HOST: `unix://${socket}`}),
    tlsEnv: () => ({DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs}),
    load(tag) {
      execFileSync('sh', ['-c', `docker save '${tag}' | docker -H 'unix://${socket}' load -q`], {stdio: 'ignore'});
    },
    stop() {
      const ids = spawnSync('docker', ['-H', `unix://${socket}`, 'ps', '-aq'], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) spawnSync('docker', ['-H', `unix://${socket}`, 'rm', '-f', ...ids], {stdio: 'ignore'});
      const pid = daemonPid();
      if (pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch { /* gone */ }
        const end = Date.now() + 30_000;
        while (!gone(pid) && Date.now() < end) spawnSync('sleep', ['0.2']);
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* gone */ }
      }
      // The namespace's init (dockerd) gone, the kernel ends the rest; then the wrapper exits.
      const end = Date.now() + 10_000;
      while (wrapper.pid && !gone(wrapper.pid) && Date.now() < end) spawnSync('sleep', ['0.2']);
      fs.closeSync(log);
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}
