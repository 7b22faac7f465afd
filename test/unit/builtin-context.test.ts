// What a builtin takes from its context instead of the process (src/shell/context.ts): the clock
// decides ls's six-month rule exactly, whatever day the test runs; the registry is the one the
// caller hands over (src/shell never imports builtins/).
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';
import {Readable, Writable} from 'node:stream';
import {Engine} from '../../src/docker/engine.js';
import type {Builtin, Output, ShellContext} from '../../src/shell/context.js';
import {runBuiltin} from '../../src/shell/run-builtin.js';
import {Namespace} from '../../src/vfs/namespace.js';
import {runOver} from './builtin-run.js';
import {MemoryFs} from './memory-fs.js';

const T = 1_600_000_000; // 2020-09-13 12:26:40 UTC
const DAY = 86_400_000;
const fs = (): MemoryFs => MemoryFs.of({'f': {text: 'x', mtime: T}}, true);
/** The time column of `ls -l /f` with the clock at `now`. */
const timeAt = async (now: number): Promise<string> => {
  const r = await runOver(fs(), ['ls', '-l', '/f'], '/', {}, new AbortController().signal, {now: () => now});
  expect(r.status).toBe(0);
  return r.stdout.trim().split(/ +/).slice(5, 8).join(' ');
};

describe('the clock of a builtin', () => {
  beforeAll(() => void vi.stubEnv('TZ', 'UTC'));
  afterAll(() => void vi.unstubAllEnvs());

  it('ls -l shows the time of a file changed within six months of its clock, the year of one older', async () => {
    expect(await timeAt(T * 1000 + DAY)).toBe('Sep 13 12:26');
    expect(await timeAt(T * 1000 + 182 * DAY)).toBe('Sep 13 12:26');
    expect(await timeAt(T * 1000 + 183 * DAY)).toBe('Sep 13 2020');
    expect(await timeAt(T * 1000 + 3000 * DAY)).toBe('Sep 13 2020');
  });

  it('a file from after its clock (the future) shows the year', async () => {
    expect(await timeAt(T * 1000 - 1000)).toBe('Sep 13 2020');
  });
});

describe('the registry of a session', () => {
  it('runs only the builtins it was handed, and says so for another name', async () => {
    const chunks: Buffer[] = [];
    const out: Output = {stream: new Writable({write(c: Buffer, _e, done) { chunks.push(c); done(); }}), isTTY: false, columns: 80};
    const hello: Builtin = {name: 'hello', usage: 'hello', summary: 'says hello', async run(args, ctx) {
      ctx.stdout.stream.write(`hello ${args.join(' ')} at ${ctx.now()}\n`);
      return {status: 0};
    }};
    const ctx: ShellContext = {cwd: '/', home: '/', env: {}, ns: new Namespace(new Engine(), {host: new MemoryFs(true)}), stdin: Readable.from([]),
      stdinIsTTY: false, stdout: out, stderr: out, color: false, signal: new AbortController().signal, run: async () => 127, capture: async () => ({status: 127, stdout: '', stderr: '', error: 'no programs here'}), now: () => 42};
    expect(await runBuiltin([hello], ['hello', 'world'], ctx)).toBe(0);
    expect(await runBuiltin([hello], ['ls', '/'], ctx)).toBe(127);
    expect(Buffer.concat(chunks).toString()).toBe('hello world at 42\ndbox: ls: not a dbox builtin\n');
  });
});
