import {afterEach, describe, expect, it, vi} from 'vitest';
import {Spinner} from '../../src/shell/spinner.js';

describe('Spinner', () => {
  afterEach(() => vi.useRealTimers());
  const sink = () => {
    const writes: string[] = [];
    return {writes, out: {write: (s: string) => writes.push(s)} as unknown as NodeJS.WriteStream};
  };

  it('appears only after 200 ms of pending engine calls and is erased when they end', () => {
    vi.useFakeTimers();
    const {writes, out} = sink();
    const s = new Spinner(out);
    s.enabled = true;
    s.activity(1);
    vi.advanceTimersByTime(150);
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes[0]).toMatch(/^\r\S $/);
    s.activity(0);
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('a fast call draws nothing', () => {
    vi.useFakeTimers();
    const {writes, out} = sink();
    const s = new Spinner(out);
    s.enabled = true;
    s.activity(1);
    vi.advanceTimersByTime(100);
    s.activity(0);
    vi.advanceTimersByTime(1000);
    expect(writes).toEqual([]);
  });
});
