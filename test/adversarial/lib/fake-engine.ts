// A malicious Docker engine: a real HTTP server on a unix socket (under a private mkdtemp) that
// speaks enough of the Engine API for dbox — /_ping, /version, /containers/json, inspect, the
// archive API (HEAD/GET/PUT), exec (create, hijacked start with multiplexed frames, inspect),
// /events (a stream) — and answers with crafted data: names with control characters, `/` and
// `..`; ids that are not hex; State.Pid naming host processes; exec listings with entries such as
// `../../x`, `a/b`, `.`, `..`; tar streams that lie. Its answers are well formed enough that dbox
// really attempts what they invite (copies, mounts, attaches).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import {entry, tarball} from './tar-craft.js';

export interface FakeNode {
  readonly type: 'file' | 'dir' | 'symlink' | 'char';
  readonly content?: string;
  readonly linkTarget?: string;
  readonly mode?: number;
}

export interface FakeContainer {
  readonly id: string;
  readonly name: string;
  /** State in the list: running, exited… */
  readonly state: string;
  /** What inspect says. */
  readonly running: boolean;
  readonly pid: number;
  /** A path's node; undefined: not found (404). */
  lookup(p: string): FakeNode | undefined;
  /** The tar a GET of `p` answers (defaults to one made from lookup). */
  tar?(p: string): Buffer | undefined;
  /** The stat lines (`%f %h %u %g %s %Y %n`) an exec listing of `dir` answers. */
  listing?(dir: string): string | undefined;
  /** What inspect says of its storage (GraphDriver); an overlay2 with no directories when absent. */
  readonly graphDriver?: unknown;
}

export interface FakeEngine {
  readonly socket: string;
  readonly dir: string;
  readonly host: string;
  containers: FakeContainer[];
  /** Every request seen: `METHOD path`. */
  readonly requests: string[];
  /** PUT bodies received (they go nowhere: the engine only records them). */
  readonly uploads: {path: string; bytes: number}[];
  /** Sends one container event to every /events stream. */
  emit(id: string, action: string): void;
  /** Ends every /events stream and refuses requests for `ms` (an engine restart). */
  restart(ms: number): Promise<void>;
  close(): Promise<void>;
}

const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const GO_DEVICE = 2 ** 26;
const GO_CHAR = 2 ** 21;

function goMode(n: FakeNode): number {
  const perm = n.mode ?? (n.type === 'dir' ? 0o755 : n.type === 'symlink' ? 0o777 : 0o644);
  if (n.type === 'dir') return GO_DIR + perm;
  if (n.type === 'symlink') return GO_SYMLINK + perm;
  if (n.type === 'char') return GO_DEVICE + GO_CHAR + perm;
  return perm;
}

const hexId = (): string => crypto.randomBytes(32).toString('hex');
export const fakeId = hexId;

/** The tar of a node as the engine makes it: one entry named after the path's last component. */
function tarOf(p: string, n: FakeNode): Buffer {
  const base = path.posix.basename(p) || '.';
  if (n.type === 'dir') return tarball(entry({name: `${base}/`, type: 'dir'}));
  if (n.type === 'symlink') return tarball(entry({name: base, type: 'symlink', linkname: n.linkTarget ?? ''}));
  if (n.type === 'char') return tarball(entry({name: base, type: 'char', devmajor: 1, devminor: 11}));
  return tarball(entry({name: base, body: n.content ?? '', mode: n.mode ?? 0o644}));
}

function frame(stream: 1 | 2, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt8(stream, 0);
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

/** A container that answers like a plain one: dirs from `dirs`, files for everything else under them. */
export function plainContainer(opts: {name: string; id?: string; state?: string; running?: boolean; pid?: number; dirs?: string[];
  files?: Record<string, string>; links?: Record<string, string>; fallback?: string} & Partial<Pick<FakeContainer, 'tar' | 'listing'>>): FakeContainer {
  const dirs = new Set(['/', ...(opts.dirs ?? [])]);
  for (const d of [...dirs]) for (let p = d; p !== '/'; p = path.posix.dirname(p)) dirs.add(p);
  for (const f of Object.keys(opts.files ?? {})) for (let p = path.posix.dirname(f); p !== '/'; p = path.posix.dirname(p)) dirs.add(p);
  return {
    id: opts.id ?? hexId(), name: opts.name, state: opts.state ?? 'running', running: opts.running ?? (opts.state ?? 'running') === 'running',
    pid: opts.pid ?? 0,
    lookup(p) {
      const n = path.posix.normalize(p).replace(/\/+$/, '') || '/';
      if (dirs.has(n)) return {type: 'dir'};
      if (opts.links?.[n] !== undefined) return {type: 'symlink', linkTarget: opts.links[n]};
      if (opts.files?.[n] !== undefined) return {type: 'file', content: opts.files[n]};
      if (opts.fallback !== undefined) return {type: 'file', content: opts.fallback};
      return undefined;
    },
    ...(opts.tar ? {tar: opts.tar} : {}),
    ...(opts.listing ? {listing: opts.listing} : {}),
  };
}

/** `dataRoot`: the DockerRootDir /info answers (none by default). */
export async function startFakeEngine(base: string, containers: FakeContainer[] = [], opts: {dataRoot?: string} = {}): Promise<FakeEngine> {
  const dir = fs.mkdtempSync(path.join(base, 'fake-engine-'));
  const socket = path.join(dir, 'docker.sock');
  const requests: string[] = [];
  const uploads: {path: string; bytes: number}[] = [];
  const events = new Set<http.ServerResponse>();
  const execs = new Map<string, {container: FakeContainer; cmd: string[]; code: number}>();
  let down = false;
  const state = {containers};

  const find = (rest: string): {c: FakeContainer; tail: string} | undefined => {
    // The id may hold `/` or `..` (an id is not trusted to be hex): match the longest known id or name.
    const all = state.containers.flatMap((c) => [[c.id, c], [c.name, c]] as [string, FakeContainer][]).sort((a, b) => b[0].length - a[0].length);
    for (const [key, c] of all) {
      const enc = encodeURIComponent(key);
      for (const k of [key, enc]) if (rest === k || rest.startsWith(`${k}/`)) return {c, tail: rest.slice(k.length)};
    }
    for (const c of state.containers) if (rest.split('/')[0]!.length >= 2 && c.id.startsWith(rest.split('/')[0]!)) return {c, tail: rest.slice(rest.split('/')[0]!.length)};
    return undefined;
  };

  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': data.length, 'Api-Version': '1.41'});
    res.end(data);
  };

  const inspect = (c: FakeContainer): unknown => ({
    Id: c.id, Name: `/${c.name}`, Created: '2026-11-30T00:00:00Z', Path: 'sleep', Args: [],
    State: {Status: c.running ? 'running' : 'exited', Running: c.running, Paused: false, Restarting: false, Pid: c.pid, ExitCode: 0,
      StartedAt: '2026-11-30T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z'},
    Image: `sha256:${'0'.repeat(64)}`, Config: {Hostname: 'evil', Env: ['PATH=/bin'], Cmd: ['sleep'], Image: 'evil', WorkingDir: '/'},
    HostConfig: {}, Mounts: [], GraphDriver: c.graphDriver ?? {Name: 'overlay2', Data: {}},
  });

  const server = http.createServer((req, res) => {
    const raw = req.url ?? '/';
    const [pathname, query = ''] = raw.split('?') as [string, string?];
    const p = pathname.replace(/^\/v\d+\.\d+/, '');
    requests.push(`${req.method} ${raw}`);
    if (down) {
      req.socket.destroy();
      return;
    }
    const params = new URLSearchParams(query);
    const body: Buffer[] = [];
    req.on('data', (d: Buffer) => body.push(d));
    req.on('end', () => {
      if (p === '/_ping') {
        res.writeHead(200, {'Content-Type': 'text/plain', 'Api-Version': '1.41', 'Content-Length': 2});
        res.end(req.method === 'HEAD' ? undefined : 'OK');
        return;
      }
      if (p === '/version') return json(res, 200, {Version: '20.10.24-evil', ApiVersion: '1.41', MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64'});
      if (p === '/info') {
        return json(res, 200, {ID: 'evil', Containers: state.containers.length, ServerVersion: '20.10.24-evil',
          ...(opts.dataRoot !== undefined ? {DockerRootDir: opts.dataRoot} : {})});
      }
      if (p === '/events') {
        res.writeHead(200, {'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'});
        res.write('');
        events.add(res);
        res.on('close', () => events.delete(res));
        return;
      }
      if (p === '/containers/json') {
        return json(res, 200, state.containers.map((c) => ({Id: c.id, Names: [`/${c.name}`], Image: 'evil', ImageID: '', Command: 'sleep',
          Created: 1_764_460_800, State: c.state, Status: c.state === 'running' ? 'Up 1 hour' : 'Exited (0)', Ports: [], Labels: {},
          Mounts: []})));
      }
      const exec = /^\/exec\/([^/]+)\/(json|start|resize)$/.exec(p);
      if (exec) {
        const e = execs.get(exec[1]!);
        if (!e) return json(res, 404, {message: 'No such exec instance'});
        if (exec[2] === 'json') return json(res, 200, {ID: exec[1], Running: false, ExitCode: e.code, ProcessConfig: {}});
        if (exec[2] === 'resize') return json(res, 200, {});
        // A start without Upgrade: the raw stream in the response body.
        res.writeHead(200, {'Content-Type': 'application/vnd.docker.raw-stream'});
        res.end(runExec(e));
        return;
      }
      if (!p.startsWith('/containers/')) return json(res, 404, {message: `page not found: ${p}`});
      const hit = find(p.slice('/containers/'.length));
      if (!hit) return json(res, 404, {message: `No such container: ${p}`});
      const {c, tail} = hit;
      if (tail === '/json') return json(res, 200, inspect(c));
      if (tail === '/changes') return json(res, 200, []);
      if (tail === '/exec' && req.method === 'POST') {
        const spec = JSON.parse(Buffer.concat(body).toString() || '{}') as {Cmd?: string[]};
        const id = hexId();
        execs.set(id, {container: c, cmd: spec.Cmd ?? [], code: 0});
        return json(res, 201, {Id: id});
      }
      if (tail === '/archive') {
        const at = params.get('path') ?? '/';
        if (req.method === 'PUT') {
          uploads.push({path: at, bytes: Buffer.concat(body).length});
          return json(res, 200, {});
        }
        const n = c.lookup(at);
        if (!n) return json(res, 404, {message: `Could not find the file ${at} in container ${c.name}`});
        const stat = Buffer.from(JSON.stringify({name: path.posix.basename(at) || '/', size: n.content?.length ?? 0, mode: goMode(n),
          mtime: '2026-11-30T00:00:00Z', linkTarget: n.linkTarget ?? ''})).toString('base64');
        const tar = c.tar?.(at) ?? tarOf(at, n);
        res.writeHead(200, {'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': stat,
          ...(req.method === 'HEAD' ? {} : {'Content-Length': tar.length})});
        res.end(req.method === 'HEAD' ? undefined : tar);
        return;
      }
      if (/^\/(start|stop|restart|kill|wait|resize|attach)$/.test(tail)) return json(res, 200, {StatusCode: 0});
      return json(res, 404, {message: `not in this engine: ${req.method} ${tail}`});
    });
  });

  /** What an exec prints: listings and range reads as dbox's scripts expect, crafted. */
  function runExec(e: {container: FakeContainer; cmd: string[]; code: number}): Buffer {
    const [prog, flag, script, , arg] = e.cmd;
    if (prog === 'sh' && flag === '-c' && script?.includes('stat -c') && arg !== undefined) {
      const listing = e.container.listing?.(arg);
      if (listing === undefined) {
        e.code = 3;
        return Buffer.alloc(0);
      }
      return frame(1, Buffer.from(listing, 'latin1'));
    }
    if (prog === 'sh' && flag === '-c' && script?.includes('tail -c') && arg !== undefined) {
      const n = e.container.lookup(arg);
      return frame(1, Buffer.from(`D${n?.content ?? ''}`));
    }
    return Buffer.alloc(0);
  }

  // Every connection, upgraded ones included (closeAllConnections does not know those): close() ends them all.
  const sockets = new Set<net.Socket>();
  server.on('connection', (sock: net.Socket) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
  });
  server.on('upgrade', (req: http.IncomingMessage, sock: net.Socket) => {
    const p = (req.url ?? '').split('?')[0]!.replace(/^\/v\d+\.\d+/, '');
    requests.push(`${req.method} ${req.url} (upgrade)`);
    const m = /^\/exec\/([^/]+)\/start$/.exec(p);
    const e = m ? execs.get(m[1]!) : undefined;
    if (!e || down) {
      sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sock.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    sock.end(runExec(e));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  fs.chmodSync(socket, 0o600);

  return {
    socket, dir, host: `unix://${socket}`, requests, uploads,
    get containers() { return state.containers; },
    set containers(v) { state.containers = v; },
    emit(id, action) {
      const line = JSON.stringify({status: action, id, from: 'evil', Type: 'container', Action: action, Actor: {ID: id, Attributes: {}},
        scope: 'local', time: Math.floor(Date.now() / 1000), timeNano: Date.now() * 1e6}) + '\n';
      for (const r of events) r.write(line);
    },
    async restart(ms) {
      down = true;
      for (const r of events) r.destroy();
      events.clear();
      await new Promise((r) => setTimeout(r, ms));
      down = false;
    },
    async close() {
      for (const r of events) r.destroy();
      server.closeAllConnections();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}
