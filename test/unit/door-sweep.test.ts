// sweepDoors (src/agent/door.ts): a door nobody answers (its agent killed with its container) is
// removed; a door someone answers, and anything that is not a door, stays. Real unix sockets.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {sweepDoors} from '../../src/agent/door.js';

const listen = (at: string): Promise<net.Server> => new Promise((resolve) => {
  const server = net.createServer((s) => s.destroy());
  server.listen(at, () => resolve(server));
});

describe('sweepDoors', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) fs.rmSync(d, {recursive: true, force: true});
  });

  it('removes doors nobody answers, keeps live ones and other files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-door-test-'));
    made.push(dir);
    const name = (c: string): string => `agent-${c.repeat(24)}.sock`;
    const live = await listen(path.join(dir, name('a')));
    // A dead door, as a killed keeper leaves it: a process that listened there and exited.
    execFileSync(process.execPath, ['-e', 'require("net").createServer().listen(process.argv[1], () => process.exit(0))', path.join(dir, name('b'))]);
    expect(fs.lstatSync(path.join(dir, name('b'))).isSocket()).toBe(true);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
    fs.writeFileSync(path.join(dir, name('c')), ''); // not a socket: not ours to judge
    await sweepDoors({dir, name: name('a'), path: path.join(dir, name('a'))});
    expect(fs.readdirSync(dir).sort()).toEqual([name('a'), name('c'), 'notes.txt']);
    await new Promise<void>((r) => live.close(() => r()));
  });
});
