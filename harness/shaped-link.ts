// An engine behind a shaped link, for tests and the bench: a network namespace and a veth pair
// made here (private addresses on the pair only, 10.251.N.0/30), the pair rate-limited with tbf,
// a dockerd listening inside the namespace on its address with TLS, and a delay line in front of
// it. The kernel of these machines has no netem (CONFIG_NET_SCH_NETEM is not set), so the delay
// is a userspace delay line: a TCP relay on 127.0.0.1 that holds every chunk `delayMs` in each
// direction, in order (a round trip costs 2 × delayMs more). Everything is removed by stop().
import {execFileSync, spawnSync} from 'node:child_process';
import net from 'node:net';
import {startRemoteEngine, type RemoteEngine} from './remote-engine.js';

export interface DelayLine {
  readonly port: number;
  /** Connections made through it so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

/** Forwards src to dst, each chunk `delayMs` later, order kept; pauses src while much is held. */
function delayed(src: net.Socket, dst: net.Socket, delayMs: number): void {
  const held: {chunk: Buffer; due: number}[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const flush = (): void => {
    timer = undefined;
    const now = Date.now();
    while (held.length && held[0]!.due <= now) {
      const {chunk} = held.shift()!;
      bytes -= chunk.length;
      if (!dst.destroyed) dst.write(chunk);
    }
    if (bytes < 4 << 20 && src.isPaused()) src.resume();
    if (held.length) timer = setTimeout(flush, held[0]!.due - now);
    else if (ended && !dst.destroyed) dst.end();
  };
  src.on('data', (chunk: Buffer) => {
    held.push({chunk, due: Date.now() + delayMs});
    bytes += chunk.length;
    if (bytes >= 4 << 20) src.pause();
    timer ??= setTimeout(flush, delayMs);
  });
  src.on('end', () => {
    ended = true;
    timer ??= setTimeout(flush, 0);
  });
}

export function delayLine(host: string, port: number, delayMs: number): Promise<DelayLine> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    count++;
    const upstream = net.connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    delayed(client, upstream, delayMs);
    delayed(upstream, client, delayMs);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () => new Promise<void>((done) => {
      for (const s of sockets) s.destroy();
      server.close(() => done());
    }),
  })));
}

export interface ShapedEngine {
  readonly remote: RemoteEngine;
  readonly line: DelayLine;
  /** What the docker CLI and dbox need to reach it through the line (DOCKER_HOST and TLS). */
  readonly env: NodeJS.ProcessEnv;
  readonly delayMs: number;
  stop(): Promise<void>;
}

const ip = (...args: string[]): void => {
  execFileSync('ip', args, {stdio: ['ignore', 'ignore', 'pipe']});
};

export async function startShapedEngine(delayMs = 10, rate = '100mbit'): Promise<ShapedEngine> {
  const n = 1 + (process.pid % 250);
  const ns = `dbox-link-${process.pid}`;
  const [outer, inner] = [`dbl${n}a`, `dbl${n}b`];
  const [hostAddr, nsAddr] = [`10.251.${n}.1`, `10.251.${n}.2`];
  const removeNs = (): void => {
    spawnSync('ip', ['netns', 'del', ns], {stdio: 'ignore'});
    spawnSync('ip', ['link', 'del', outer], {stdio: 'ignore'});
  };
  removeNs();
  let remote: RemoteEngine | undefined;
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', ns);
    ip('addr', 'add', `${hostAddr}/30`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    ip('-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', inner);
    ip('-n', ns, 'link', 'set', inner, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    execFileSync('tc', ['qdisc', 'add', 'dev', outer, 'root', 'tbf', 'rate', rate, 'burst', '64kb', 'latency', '50ms']);
    execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', inner, 'root', 'tbf', 'rate', rate, 'burst', '64kb', 'latency', '50ms']);
    remote = await startRemoteEngine({netns: {name: ns, listen: nsAddr}});
  } catch (error) {
    remote?.stop();
    removeNs();
    throw error;
  }
  const line = await delayLine(nsAddr, 2376, delayMs);
  const env = {DOCKER_HOST: `tcp://127.0.0.1:${line.port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: remote.certs, DOCKER_CONTEXT: ''};
  const engine = remote;
  return {
    remote, line, env, delayMs,
    async stop() {
      await line.close();
      engine.stop();
      removeNs();
    },
  };
}
