// A copy command's progress and the native jobs under it (pure): a job's counters count in the
// command's while it runs and stay there after; stopping one job (its container restarted) does
// not stop the command; cancelling the command (Ctrl-C) stops every job.
import {describe, expect, it} from 'vitest';
import {Progress} from '../../src/vfs/transfer.js';

describe('Progress.part', () => {
  it('counts a job while it runs and after it ends', async () => {
    const p = new Progress();
    p.add(10, 1);
    await p.part(async (raw) => {
      raw[0] = 5;
      raw[1] = 2;
      expect([p.bytes, p.files]).toEqual([15, 3]);
    });
    expect([p.bytes, p.files]).toEqual([15, 3]);
  });

  it('stopping a job stops it alone; cancelling the command stops every job', async () => {
    const p = new Progress();
    await p.part(async (raw, stop) => {
      stop();
      expect(raw[2]).toBe(1);
    });
    expect(p.cancelled).toBe(false);
    expect(p.signal.aborted).toBe(false);
    await p.part(async (raw) => {
      expect(raw[2]).toBe(0);
      p.cancel();
      expect(raw[2]).toBe(1);
    });
    await p.part(async (raw) => expect(raw[2]).toBe(1)); // a job begun after the cancel starts stopped
  });
});
