// The fd channel: when the agent runs on this very host (the engine shares our PID namespace, as
// for a non-root user of the local engine), it hands over open files instead of their bytes, so
// reads and writes run at the speed of the disk rather than of the engine's exec relay.
//
// Set up once per session: a directory of ours (mkdtemp: 0700, a name nobody can guess or
// pre-create), where the agent makes a socket for our uid only (it reaches the directory through
// /proc/<our pid>/root and checks it is ours and closed to others); we connect, prove the token
// the session gave us, and remove the socket and the directory at once. What it trusts: the agent
// (whose session we hold) for the files it hands over, each checked here to be a regular file
// (fstat) before use; messages of any other shape fail (native/agent/fd-channel.c).
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {fdChannelAddon} from '../self.js';
import type {AgentClient} from './client.js';

interface Native {
  connect(path: string): number;
  send(fd: number, data: Buffer): void;
  recv(fd: number, timeoutMs: number): Promise<[number, number]>;
}

let native: Native | undefined;

function load(): Native {
  native ??= createRequire(import.meta.url)(fdChannelAddon) as Native;
  return native;
}

/** Fds held for tags nobody asked for yet: more than this is a breach. */
const MAX_STASHED = 64;
const RECV_MS = 10_000;

export class FdChannel {
  private readonly waiting = new Map<number, {resolve(fd: number): void; reject(e: Error): void}>();
  private readonly stash = new Map<number, number>();
  private receiving = false;
  private broken: Error | undefined;

  private constructor(private readonly fd: number) {}

  /** Opens the channel for this session; undefined when it cannot be had (said nowhere: bytes go over the stream then). */
  static async open(client: AgentClient): Promise<FdChannel | undefined> {
    let dir: string | undefined;
    try {
      const n = load();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-fd-'));
      const {name, token} = await client.fdChannel(process.pid, process.getuid?.() ?? 0, dir);
      const sock = path.join(dir, name);
      const fd = n.connect(sock);
      n.send(fd, token);
      return new FdChannel(fd);
    } catch {
      return undefined;
    } finally {
      if (dir) fs.rmSync(dir, {recursive: true, force: true});
    }
  }

  /** The fd handed over for request `tag` (the caller owns it). */
  take(tag: number): Promise<number> {
    if (this.broken) return Promise.reject(this.broken);
    const held = this.stash.get(tag);
    if (held !== undefined) {
      this.stash.delete(tag);
      return Promise.resolve(held);
    }
    const p = new Promise<number>((resolve, reject) => this.waiting.set(tag, {resolve, reject}));
    void this.receive();
    return p;
  }

  private async receive(): Promise<void> {
    if (this.receiving) return;
    this.receiving = true;
    try {
      while (this.waiting.size > 0) {
        const [tag, fd] = await load().recv(this.fd, RECV_MS);
        const w = this.waiting.get(tag);
        if (w) {
          this.waiting.delete(tag);
          w.resolve(fd);
        } else if (this.stash.size < MAX_STASHED && !this.stash.has(tag)) this.stash.set(tag, fd);
        else {
          fs.closeSync(fd);
          throw new Error('the agent sent fds nobody asked for');
        }
      }
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.receiving = false;
    }
  }

  private fail(error: Error): void {
    this.broken = error;
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
    this.close();
  }

  close(): void {
    for (const fd of this.stash.values()) fs.closeSync(fd);
    this.stash.clear();
    try {
      fs.closeSync(this.fd);
    } catch { /* closed already */ }
    this.broken ??= new Error('closed');
  }
}
