// A builtin's output and Ctrl-Z (src/shell/client-io.ts): pausing must wait for a write that the
// kernel still holds (a full terminal or pipe), or its bytes appear after the job was reported
// stopped (under load, `yes | cat` showed lines after "Stopped"). Real descriptors: a FIFO whose
// reader is this test, so the write blocks in the kernel until the test reads.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {OutputState, fdOutput} from '../../src/shell/client-io.js';
import {until} from '../integration/wait.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, {recursive: true, force: true});
});

/** A FIFO opened both ways: `reader` non-blocking, `writer` blocking (as a terminal is). */
function fifo(): {reader: number; writer: number} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-pause-'));
  dirs.push(dir);
  const p = path.join(dir, 'fifo');
  expect(spawnSync('mkfifo', [p]).status).toBe(0);
  const reader = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  return {reader, writer: fs.openSync(p, fs.constants.O_WRONLY)};
}

/** One turn of the event loop: what is checked after it is that nothing happened (no fixed time). */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function drain(fd: number): number {
  const buf = Buffer.alloc(1 << 16);
  let total = 0;
  for (;;) {
    try {
      const n = fs.readSync(fd, buf);
      if (n === 0) return total;
      total += n;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return total;
      throw error;
    }
  }
}

describe('a builtin\'s output paused by Ctrl-Z', () => {
  it('pause settles only once the write the kernel holds has returned; later writes wait for resume', async () => {
    const {reader, writer} = fifo();
    try {
      const state = new OutputState(writer);
      const out = fdOutput(writer, state, true);
      const big = Buffer.alloc(1 << 20, 0x79); // far more than a pipe holds: the write blocks
      let wroteBig = false;
      let wroteSmall = false;
      out.stream.write(big, () => (wroteBig = true));
      out.stream.write(Buffer.alloc(10, 0x7a), () => (wroteSmall = true));
      let seen = 0;
      await until('the write to reach the kernel', () => (seen += drain(reader)) > 0, 10_000, 5);
      let paused = false;
      const pausing = state.pause().then(() => (paused = true));
      // The write is still in the kernel (it cannot end before this test reads): not paused yet
      // (the old code settled at once).
      await turn();
      expect(paused).toBe(false);
      // The reader takes the rest of it: that write returns, and the pause settles.
      await until('the pause', () => {
        seen += drain(reader);
        return paused;
      }, 10_000, 5);
      await pausing;
      seen += drain(reader);
      expect({seen, wroteBig}).toEqual({seen: big.length, wroteBig: true});
      // The next chunk waits while paused.
      await turn();
      expect({more: drain(reader), wroteSmall}).toEqual({more: 0, wroteSmall: false});
      state.resume();
      await until('the next chunk', () => wroteSmall, 10_000, 5);
      expect(drain(reader)).toBe(10);
    } finally {
      fs.closeSync(writer);
      fs.closeSync(reader);
    }
  });

  it('pause with nothing in the kernel settles at once', async () => {
    const {reader, writer} = fifo();
    try {
      const state = new OutputState(writer);
      await state.pause();
      const out = fdOutput(writer, state, true);
      let written = false;
      out.stream.write(Buffer.from('x'), () => (written = true));
      await turn();
      expect(drain(reader)).toBe(0);
      state.resume();
      await until('the write', () => written, 10_000, 5);
      expect(drain(reader)).toBe(1);
    } finally {
      fs.closeSync(writer);
      fs.closeSync(reader);
    }
  });
});
