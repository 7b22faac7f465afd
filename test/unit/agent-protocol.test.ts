// The agent protocol's client side against a hostile agent: every byte it sends is checked, and a
// breach ends the session with every request in flight failing (never a wrong answer).
import {describe, expect, it} from 'vitest';
import {AgentClient, AgentErrno, AgentLost} from '../../src/agent/client.js';
import {Fields, FrameReader, frame, Op, Payload, ProtocolError, readEntries, readStat, Reply, WINDOW} from '../../src/agent/protocol.js';
import type {AgentTransport} from '../../src/docker/agent-stream.js';

/** A fake agent: records what the client sends; the test answers by hand. */
function fakeAgent(): {client: AgentClient; sent: {id: number; type: number; payload: Buffer}[]; answer(id: number, type: number, payload?: Buffer): void; closed(): boolean} {
  const sent: {id: number; type: number; payload: Buffer}[] = [];
  const reader = new FrameReader();
  let closed = false;
  const transport: AgentTransport = {
    write: (b) => {
      sent.push(...reader.push(b));
      return true;
    },
    onceDrain: () => undefined,
    ref: () => undefined,
    unref: () => undefined,
    close: () => {
      closed = true;
    },
  };
  const client = new AgentClient(transport, 'test');
  return {client, sent, answer: (id, type, payload) => client.receive(frame(id, type, payload)), closed: () => closed};
}

const stat16 = (over: Partial<Record<number, bigint>> = {}): Buffer => {
  const b = Buffer.alloc(128);
  const v: bigint[] = [1n, 2n, 0o100644n, 1n, 0n, 0n, 0n, 6n, 4096n, 8n, 0n, 0n, 0n, 0n, 0n, 0n];
  for (const [k, x] of Object.entries(over)) v[Number(k)] = x!;
  v.forEach((x, i) => b.writeBigInt64LE(x, i * 8));
  return b;
};

const entry = (name: Buffer | string, dtype: number, has = 0, tail: Buffer = Buffer.alloc(0)): Buffer => {
  const n = Buffer.isBuffer(name) ? name : Buffer.from(name);
  const h = Buffer.alloc(2);
  h.writeUInt16LE(n.length);
  return Buffer.concat([h, n, Buffer.from([dtype, has]), tail]);
};

describe('frames', () => {
  it('cuts frames however the bytes arrive', () => {
    const r = new FrameReader();
    const bytes = Buffer.concat([frame(1, Reply.OK, Buffer.from('abc')), frame(2, Reply.ERR, Buffer.from([2, 0, 0, 0]))]);
    const got = [...bytes].flatMap((b) => r.push(Buffer.from([b])));
    expect(got.map((f) => [f.id, f.type, f.payload.toString('hex')])).toEqual([[1, 100, '616263'], [2, 101, '02000000']]);
  });

  it('refuses a frame longer than the limit, or with flags', () => {
    const long = Buffer.alloc(12);
    long.writeUInt32LE(2 << 20, 0);
    expect(() => new FrameReader().push(long)).toThrow(ProtocolError);
    const flagged = frame(1, 100);
    flagged.writeUInt16LE(1, 10);
    expect(() => new FrameReader().push(flagged)).toThrow(ProtocolError);
  });

  it('a payload read past its end is a breach, not zeros', () => {
    expect(() => new Fields(Buffer.alloc(3)).u32()).toThrow(ProtocolError);
    expect(() => new Payload().str('a\0b')).toThrow();
    expect(() => new Payload().str('x'.repeat(5000))).toThrow();
  });
});

describe('stats and listings from the agent', () => {
  it('takes a stat in range', () => {
    expect(readStat(new Fields(stat16())).size).toBe(6);
  });

  it.each([
    ['an unknown file type', {2: 0o170644n}],
    ['nanoseconds of a second or more', {11: 1_000_000_000n}],
    ['a negative size', {7: -1n}],
    ['a size beyond exact numbers', {7: 2n ** 60n}],
    ['a uid beyond 32 bits', {4: 2n ** 32n}],
  ])('refuses %s', (_what, over) => {
    expect(() => readStat(new Fields(stat16(over)))).toThrow(ProtocolError);
  });

  it('takes names of one component, with their link targets', () => {
    const e = readEntries(Buffer.concat([entry('a', 8), entry('l', 10, 2, Buffer.from([3, 0, 0x2e, 0x2e, 0x2f]))]));
    expect(e).toEqual([{name: 'a', type: 'file'}, {name: 'l', type: 'symlink', target: '../'}]);
  });

  it.each([
    ['a name with a slash', entry('../x', 8)],
    ['"..", as a name', entry('..', 4)],
    ['".", as a name', entry('.', 4)],
    ['an empty name', entry('', 8)],
    ['a name of 256 bytes', entry('x'.repeat(256), 8)],
    ['a name with NUL', entry(Buffer.from([0x61, 0, 0x62]), 8)],
    ['an unknown d_type', entry('a', 3)],
    ['a link target for a file', entry('a', 8, 2, Buffer.from([1, 0, 0x2f]))],
    ['a link target with NUL', entry('l', 10, 2, Buffer.from([1, 0, 0]))],
    ['a stat cut short', entry('a', 8, 1, Buffer.alloc(10))],
  ])('refuses %s', (_what, bytes) => {
    expect(() => readEntries(bytes)).toThrow(ProtocolError);
  });
});

describe('the client against a hostile agent', () => {
  it('matches answers to requests in any order; errors become errno codes', async () => {
    const a = fakeAgent();
    const one = a.client.stat(1, '/a', true);
    const two = a.client.stat(1, '/b', true);
    expect(a.sent.map((s) => s.type)).toEqual([Op.STAT, Op.STAT]);
    expect(a.client.flights).toBe(1); // both left before any answer: one round trip
    a.answer(a.sent[1]!.id, Reply.ERR, Buffer.from([2, 0, 0, 0]));
    a.answer(a.sent[0]!.id, Reply.OK, stat16());
    expect((await one).size).toBe(6);
    await expect(two).rejects.toEqual(new AgentErrno('ENOENT'));
    const odd = a.client.stat(1, '/c', true);
    a.answer(a.sent[2]!.id, Reply.ERR, Buffer.from([0x9f, 0x86, 0x01, 0])); // not an errno: EIO
    await expect(odd).rejects.toMatchObject({code: 'EIO'});
  });

  it.each([
    ['an answer to no request', (a: ReturnType<typeof fakeAgent>) => a.answer(999, Reply.OK)],
    ['DATA to a stat', (a: ReturnType<typeof fakeAgent>) => a.answer(a.sent[0]!.id, Reply.DATA, Buffer.from('x'))],
    ['a stat with trailing bytes', (a: ReturnType<typeof fakeAgent>) => a.answer(a.sent[0]!.id, Reply.OK, Buffer.concat([stat16(), Buffer.from('x')]))],
  ])('%s ends the session: every request in flight fails', async (_what, breach) => {
    const a = fakeAgent();
    const first = a.client.stat(1, '/a', true);
    const other = a.client.readlink(1, '/b');
    breach(a);
    await expect(first).rejects.toBeInstanceOf(AgentLost);
    await expect(other).rejects.toBeInstanceOf(AgentLost);
    expect(a.closed()).toBe(true);
    await expect(a.client.stat(1, '/c', true)).rejects.toBeInstanceOf(AgentLost);
  });

  it('a listing whose count does not match its entries is a breach', async () => {
    const a = fakeAgent();
    const list = a.client.readdir(1, '/', true);
    a.answer(a.sent[0]!.id, Reply.ENTRIES, entry('a', 8));
    a.answer(a.sent[0]!.id, Reply.OK, Buffer.from([2, 0, 0, 0]));
    await expect(list).rejects.toBeInstanceOf(AgentLost);
  });

  it('a read may not go beyond its window, nor beyond its length', async () => {
    for (const [length, chunks] of [[undefined, 17], [10, 1]] as const) {
      const a = fakeAgent();
      const r = a.client.read(1, '/f', 0, length);
      const id = a.sent[0]!.id;
      a.answer(id, Reply.META, stat16());
      const {stream} = await r;
      const failed = new Promise((resolve) => stream.on('error', resolve));
      // Nobody reads the stream: no credit is given, so the 17th chunk of 256 KiB is past the window.
      for (let i = 0; i < chunks; i++) a.answer(id, Reply.DATA, Buffer.alloc(length === undefined ? WINDOW / 16 : 11));
      expect(await failed).toBeInstanceOf(AgentLost);
    }
  });

  it('a read ends with exactly the bytes announced', async () => {
    const a = fakeAgent();
    const r = a.client.read(1, '/f', 0, undefined);
    const id = a.sent[0]!.id;
    a.answer(id, Reply.META, stat16());
    const {stream} = await r;
    const chunks: Buffer[] = [];
    const done = (async () => {
      for await (const c of stream) chunks.push(c as Buffer);
    })();
    a.answer(id, Reply.DATA, Buffer.from('hello'));
    const total = Buffer.alloc(8);
    total.writeBigInt64LE(5n);
    a.answer(id, Reply.OK, total);
    await done;
    expect(Buffer.concat(chunks).toString()).toBe('hello');
  });

  it('a write acknowledged beyond what was sent is a breach', async () => {
    const a = fakeAgent();
    const w = a.client.write(1, '/f', {exclusive: false, mode: 0o644}, (async function* () {
      yield Buffer.from('abc');
    })());
    await new Promise((r) => setImmediate(r));
    const id = a.sent[0]!.id;
    expect(a.sent.map((s) => s.type)).toEqual([Op.WRITE, Op.WDATA, Op.WEND]);
    a.answer(id, Reply.WCREDIT, Buffer.from([4, 0, 0, 0]));
    await expect(w).rejects.toBeInstanceOf(AgentLost);
  });
});

describe("a stopped container's MergedDir from engine JSON", () => {
  it('takes an overlay2 merged directory, and nothing else', async () => {
    const {mergedDirFromInspect} = await import('../../src/docker/validate.js');
    const of = (Name: unknown, MergedDir: unknown): unknown => ({GraphDriver: {Name, Data: {MergedDir}}});
    expect(mergedDirFromInspect(of('overlay2', '/var/lib/docker/overlay2/abc123/merged'))).toBe('/var/lib/docker/overlay2/abc123/merged');
    for (const bad of [of('overlay', '/var/lib/docker/overlay2/abc/merged'), of('overlay2', '/'), of('overlay2', '/etc'),
      of('overlay2', 'var/lib/docker/overlay2/abc/merged'), of('overlay2', '/var/lib/docker/overlay2/../../etc/merged'),
      of('overlay2', '/x/overlay2/abc/merged/../../..'), of('overlay2', '/x//overlay2/abc/merged'), of('overlay2', 7), null, {}]) {
      expect(mergedDirFromInspect(bad)).toBeUndefined();
    }
  });
});
