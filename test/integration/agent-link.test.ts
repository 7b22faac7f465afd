// An engine behind a shaped link (its own network namespace, tbf at 100 Mbit, a 10 ms delay line
// each way: shaped-link.ts): the agent's round trips counted at the client (requests sent while
// none was in flight), and bounded from below by the delay, which no answer can beat.
import {execFileSync, spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {agentOf} from '../../src/agent/session.js';
import {defaultEndpoint} from '../../src/docker/endpoints.js';
import {Engine} from '../../src/docker/engine.js';
import {Namespace} from '../../src/vfs/namespace.js';
import type {ContainerFs} from '../../src/vfs/types.js';
import {dboxPath, requireEngine} from './engine.js';
import {startShapedEngine, type ShapedEngine} from '../../harness/shaped-link.js';

const hasEngine = requireEngine();

/** `dbox -c LINE`, without blocking this process: the delay line runs in its event loop. */
export function dboxAsync(line: string, env: NodeJS.ProcessEnv): Promise<{status: number; stdout: string; stderr: string}> {
  const child = spawn(process.execPath, [dboxPath, '-c', line], {env: {...process.env, NO_COLOR: '1', ...env}});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({status: code ?? -1, stdout, stderr})));
}

describe.runIf(hasEngine)('the agent behind a shaped link', () => {
  let link: ShapedEngine;
  const c = `linked-${process.pid}`;
  const c2 = `linked2-${process.pid}`;

  beforeAll(async () => {
    link = await startShapedEngine(10);
    const {remote} = link;
    execFileSync('sh', ['-c', `docker save dbox-test/busybox | docker -H unix://${remote.socket} load -q`], {stdio: 'ignore'});
    for (const n of [c, c2]) remote.docker('run', '-d', '--network', 'none', '--name', n, 'dbox-test/busybox', 'sleep', '2147483647');
    remote.docker('exec', c, 'sh', '-c', 'mkdir /many && cd /many && i=0; while [ $i -lt 1000 ]; do echo $i > f$i; i=$((i+1)); done');
  }, 240_000);
  afterAll(async () => {
    await link?.stop();
  });

  it('a stat costs one round trip, a listing of 1,000 entries one, the first request to a container one', async () => {
    const engine = new Engine(defaultEndpoint(link.env));
    const ns = new Namespace(engine);
    const fsOf = async (name: string, path: string): Promise<ContainerFs> => {
      const t = await ns.resolve(`/containers/${name}${path}`);
      if (t.kind !== 'fs') throw new Error('not a filesystem');
      expect(t.fs.driver).toBe('agent');
      return t.fs;
    };
    const f = await fsOf(c, '/many');
    await f.stat('/'); // the session and the agent start here
    const client = await agentOf(engine).client();
    const trips = async (work: () => Promise<unknown>): Promise<{trips: number; ms: number}> => {
      const before = client.flights;
      const t0 = performance.now();
      await work();
      return {trips: client.flights - before, ms: performance.now() - t0};
    };
    const stat = await trips(() => f.stat('/many/f1'));
    const listing = await trips(async () => expect(await f.readdir('/many')).toHaveLength(1000));
    const other = await fsOf(c2, '/');
    const first = await trips(() => other.stat('/etc/passwd')); // its root opened in the same round trip
    expect([stat.trips, listing.trips, first.trips]).toEqual([1, 1, 1]);
    // No answer comes back sooner than the link allows: these went over it.
    for (const t of [stat, listing, first]) expect(t.ms).toBeGreaterThanOrEqual(2 * link.delayMs);
    process.stderr.write(`shaped link (${link.delayMs} ms each way): stat ${stat.ms.toFixed(1)} ms, listing of 1,000 ${listing.ms.toFixed(1)} ms, ` +
      `first request to a container ${first.ms.toFixed(1)} ms\n`);
  }, 120_000);

  it('dbox works end to end over it: ls -l, cat, cp -r both ways', async () => {
    const ls = await dboxAsync(`ls -l /containers/${c}/many`, link.env);
    expect(ls).toMatchObject({status: 0, stderr: ''});
    expect(ls.stdout.split('\n').filter((l) => / f\d+$/.test(l))).toHaveLength(1000);
    expect((await dboxAsync(`cat /containers/${c}/many/f999`, link.env)).stdout).toBe('999\n');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-link-'));
    try {
      expect(await dboxAsync(`cp -r /containers/${c}/many ${dir}/many`, link.env)).toMatchObject({status: 0, stderr: ''});
      expect(fs.readdirSync(`${dir}/many`)).toHaveLength(1000);
      expect(fs.readFileSync(`${dir}/many/f500`, 'utf8')).toBe('500\n');
      expect(await dboxAsync(`cp -r ${dir}/many /containers/${c2}/tmp/`, link.env)).toMatchObject({status: 0, stderr: ''});
      expect(link.remote.docker('exec', c2, 'sh', '-c', 'ls /tmp/many | wc -l; cat /tmp/many/f7')).toBe('1000\n7');
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  }, 300_000);
});
