// The one agent session of this dbox process with each engine: started on first use (the agent's
// container found or made, an exec of it entered), reused by every filesystem of that engine,
// closed after a while without requests (so the agent can go idle and leave), and started again
// on the next request after it ends or breaks (an agent killed mid-copy: that copy fails, the
// next call starts a new session, and a new agent if the old one is gone).
//
// When the agent cannot run on an engine (another architecture, an engine that refuses its
// privileges, a kernel or seccomp profile without openat2), the reason is kept: it is said once,
// and the namespace serves that engine's containers through the archive API instead.
//
// What it trusts: the engine to start what it is asked (agent-container.ts); the agent's bytes
// only through the client's checks (client.ts); a door only as door.ts checks it. The agent's
// stderr is shown only as its last few hundred bytes, control characters removed.
import {agentHash, AgentRefused, engineWords, openAgentExec} from '../docker/agent-container.js';
import {agentComplaint, agentStream, plainStream, type AgentStreamEvents, type AgentTransport} from '../docker/agent-stream.js';
import type {Engine} from '../docker/engine.js';
import {EngineUnreachable} from '../errors.js';
import {AgentClient} from './client.js';
import {doorFor, knock, sweepDoors, type Door} from './door.js';
import {FdChannel} from './fd-channel.js';
import {VERSION} from './protocol.js';

/** Why the agent cannot run on an engine; the caller uses the archive API instead. */
export class AgentUnavailable extends Error {}

/** Milliseconds a session stays open without requests (DBOX_AGENT_CLIENT_IDLE). */
function clientIdleMs(): number {
  const v = Number(process.env['DBOX_AGENT_CLIENT_IDLE']);
  return Number.isFinite(v) && v > 0 ? v : 30_000;
}

/** How long a new session may take to answer (an engine that hangs an exec must not hang dbox). */
const HELLO_MS = 30_000;
/** How long an agent behind a door may take (it is on this host: a door that does not answer at once is stale). */
const DOOR_MS = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  const timer = setTimeout(onTimeout, ms);
  timer.unref();
  return work.finally(() => clearTimeout(timer));
}

export interface StartFigures {
  /** Milliseconds from the first request to a session that answers. */
  readonly ms: number;
  /** Whether this process started the agent's container (else it found one running). */
  readonly startedContainer: boolean;
  /** Whether the session came in through a door (no exec). */
  readonly door: boolean;
}

export class AgentSession {
  private current: Promise<AgentClient> | undefined;
  private refused: string | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** How the last session start went (bench and tests). */
  lastStart: StartFigures | undefined;
  /** Sessions started so far. */
  starts = 0;

  constructor(readonly engine: Engine) {}

  private channels = new WeakMap<AgentClient, Promise<FdChannel | undefined>>();

  /**
   * The fd channel of a session, when the agent runs on this very host: tried for engines on a
   * unix socket (whether the agent can reach our directory through our pid, and we its socket,
   * is the test: a non-root user cannot look at the engine's PID namespace), opened on first use;
   * undefined when it cannot be (the bytes then go over the stream).
   */
  fds(client: AgentClient): Promise<FdChannel | undefined> {
    let chan = this.channels.get(client);
    if (!chan) {
      chan = this.engine.endpoint.socketPath !== undefined && process.env['DBOX_AGENT_FDS'] !== '0' ? FdChannel.open(client) : Promise.resolve(undefined);
      this.channels.set(client, chan);
      const end = client.onLost;
      client.onLost = (e) => {
        void chan!.then((c) => c?.close());
        end?.(e);
      };
    }
    return chan;
  }

  /** A live session, started when there is none; AgentUnavailable when the agent cannot run here. */
  client(): Promise<AgentClient> {
    if (this.refused !== undefined) return Promise.reject(new AgentUnavailable(this.refused));
    this.current ??= this.start().catch((error: unknown) => {
      this.current = undefined;
      if (error instanceof EngineUnreachable) throw error;
      this.refused = error instanceof AgentRefused || error instanceof AgentUnavailable ? error.message : engineWords(error);
      notice(`the dbox agent cannot run on ${this.engine.label} (${this.refused}); its containers are served through the archive API`);
      throw new AgentUnavailable(this.refused);
    });
    return this.current;
  }

  /** Ends the session (the agent itself stays until its idle time passes). */
  close(): void {
    const c = this.current;
    this.current = undefined;
    void c?.then((client) => client.close(), () => undefined);
  }

  private async start(): Promise<AgentClient> {
    const t0 = Date.now();
    const socketPath = this.engine.endpoint.socketPath;
    const door = socketPath && process.env['DBOX_AGENT_DOOR'] !== '0' ? doorFor(socketPath, agentHash()) : undefined;
    if (door) {
      const client = await this.throughDoor(door);
      if (client) {
        this.starts++;
        this.lastStart = {ms: Date.now() - t0, startedContainer: false, door: true};
        return client;
      }
      await sweepDoors(door);
    }
    for (let attempt = 1; ; attempt++) {
      const {socket, started} = await openAgentExec(this.engine);
      let complaint = (): string => '';
      const client = this.wrap((on) => {
        const stream = agentStream(socket, on);
        complaint = () => agentComplaint(stream.stderr());
        return stream.transport;
      }, () => complaint());
      let version: number;
      try {
        version = await withTimeout(client.hello(), HELLO_MS, () => client.end(`no answer in ${HELLO_MS / 1000} s`));
      } catch (error) {
        client.close();
        // An agent that was going idle as we came refuses (and leaves): try again, with a new one.
        if (/stopping/.test(complaint()) && attempt < 5) continue;
        throw new AgentUnavailable(`it did not answer (${(error as Error).message})`);
      }
      if (version !== VERSION) {
        client.close();
        throw new AgentUnavailable(`it speaks version ${version}, dbox speaks ${VERSION}`);
      }
      // Later dbox processes of this user come in through a door, without an exec (door.ts).
      if (door) void client.door(process.pid, process.getuid?.() ?? 0, door.dir, door.name).catch(() => undefined);
      this.starts++;
      this.lastStart = {ms: Date.now() - t0, startedContainer: started, door: false};
      return client;
    }
  }

  /** A session through this user's door, when the agent left one and still answers there. */
  private async throughDoor(door: Door): Promise<AgentClient | undefined> {
    try {
      const socket = await knock(door);
      const client = this.wrap((on) => plainStream(socket, on), () => '');
      try {
        if ((await withTimeout(client.hello(), DOOR_MS, () => client.end('no answer at the door'))) === VERSION) return client;
      } catch { /* gone meanwhile */ }
      client.close();
    } catch { /* no door, or nobody behind it */ }
    return undefined;
  }

  /** A client over a transport, tied to this session's lifetime and idle timer. */
  private wrap(open: (on: AgentStreamEvents) => AgentTransport, complaint: () => string): AgentClient {
    let client: AgentClient | undefined;
    const early: Buffer[] = [];
    const transport = open({
      data: (b) => (client ? client.receive(b) : early.push(b)),
      end: (why) => client?.end(why === 'closed' || !complaint() ? why : `${why}: ${complaint()}`),
    });
    const session = new AgentClient(transport, this.engine.label);
    client = session;
    for (const b of early.splice(0)) session.receive(b);
    session.onLost = () => {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      void this.current?.then((c) => c === session && (this.current = undefined), () => undefined);
    };
    session.onBusy = () => {
      if (this.idleTimer) clearTimeout(this.idleTimer);
    };
    session.onIdle = () => {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => session.close(), clientIdleMs());
      this.idleTimer.unref();
    };
    return session;
  }
}

const sessions = new WeakMap<Engine, AgentSession>();

/** The agent session of an engine (one per Engine object, so one per endpoint in a Namespace). */
export function agentOf(engine: Engine): AgentSession {
  let s = sessions.get(engine);
  if (!s) {
    s = new AgentSession(engine);
    sessions.set(engine, s);
  }
  return s;
}

const said = new Set<string>();

/** Says something about how dbox reaches an engine, once per process, on stderr. */
export function notice(text: string): void {
  if (said.has(text)) return;
  said.add(text);
  process.stderr.write(`dbox: note: ${text}\n`);
}
