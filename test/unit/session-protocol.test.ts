// The pure parts of the session: the builtin socket's frames, the paths that name the caller
// itself, quoting a line for bash, and when the mount must be up before bash starts.
import {describe, expect, it} from 'vitest';
import {bashArgs} from '../../src/shell/bash-session.js';
import {callerPath} from '../../src/shell/builtin-server.js';
import {encodeFrame, execRequest, FrameReader, joinStrings, parseCall, parseLineRequest, splitStrings} from '../../src/shell/frames.js';
import {mayExpandHistory, shellQuote} from '../../src/shell/line-driver.js';
import {namesContainers, onlyBuiltinCall} from '../../src/shell/shell-session.js';

describe('frames', () => {
  it('round-trips, across any split of the bytes', () => {
    const bytes = Buffer.concat([encodeFrame('S', '0'), encodeFrame('D', Buffer.from([0, 1, 2])), encodeFrame('P')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = new FrameReader();
      const frames = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
      expect(frames.map((f) => [f.type, [...f.payload]])).toEqual([['S', [48]], ['D', [0, 1, 2]], ['P', []]]);
    }
  });

  it('refuses a length no frame can have', () => {
    const zero = Buffer.from([0, 0, 0, 0, 0x53]);
    expect(() => new FrameReader().push(zero)).toThrow(/bad frame length 0/);
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x53]);
    expect(() => new FrameReader().push(huge)).toThrow(/bad frame length/);
  });

  it('parses a builtin call: cwd, argv, environment (values may hold = and newlines)', () => {
    const payload = joinStrings(['/w', '3', 'ls', '-l', 'a b', 'A=1', 'B=x=y\nz', 'noequals']);
    expect(parseCall(payload)).toEqual({cwd: '/w', argv: ['ls', '-l', 'a b'], env: {A: '1', B: 'x=y\nz'}});
    expect(parseCall(joinStrings(['/w', '5', 'ls']))).toBeUndefined();
    expect(parseCall(joinStrings(['/w', '0']))).toBeUndefined();
    expect(parseCall(joinStrings(['/w', 'x', 'ls']))).toBeUndefined();
    expect(parseCall(Buffer.alloc(0))).toBeUndefined();
  });

  it('parses a line request, bounded status', () => {
    expect(parseLineRequest(joinStrings(['130', '/containers/web']))).toEqual({status: 130, cwd: '/containers/web'});
    expect(parseLineRequest(joinStrings(['256', '/']))).toBeUndefined();
    expect(parseLineRequest(joinStrings(['-1', '/']))).toBeUndefined();
    expect(parseLineRequest(joinStrings(['0']))).toBeUndefined();
  });

  it('packs an exec request as the client reads it', () => {
    expect(splitStrings(execRequest('/c', ['docker', 'exec', '-it'], {A: '1', U: undefined}))).toEqual(['/c', '3', 'docker', 'exec', '-it', 'A=1']);
  });
});

describe('paths that name the caller itself', () => {
  it('are opened through its /proc entry', () => {
    expect(callerPath('/dev/fd/63', 42)).toBe('/proc/42/fd/63');
    expect(callerPath('/dev/stdin', 42)).toBe('/proc/42/fd/0');
    expect(callerPath('/proc/self/mountinfo', 42)).toBe('/proc/42/mountinfo');
    expect(callerPath('/proc/self', 42)).toBe('/proc/42');
    expect(callerPath('/proc/thread-self/fd/3', 42)).toBe('/proc/42/fd/3');
  });
  it('and no other', () => {
    for (const p of ['/dev/fd', '/dev/fdx/1', '/proc/selfie', 'dev/fd/1', '/containers/web/dev/fd/1', '/proc/1/fd/2', '-']) expect(callerPath(p, 42)).toBe(p);
  });
});

describe('lines for bash', () => {
  it('quotes any text as one word', () => {
    expect(shellQuote("it's $HOME `x` \\ \n")).toBe("'it'\\''s $HOME `x` \\ \n'");
  });
  it('sends lines with history characters through bash\'s expansion', () => {
    expect(mayExpandHistory('echo !!')).toBe(true);
    expect(mayExpandHistory('^a^b')).toBe(true);
    expect(mayExpandHistory('echo a^b')).toBe(false);
    expect(mayExpandHistory('ls')).toBe(false);
  });
  it('runs non-interactive bash without rc files (a socket on stdin is not rshd)', () => {
    expect(bashArgs({kind: 'command', line: 'x', args: ['a']})).toEqual(['--norc', '-c', 'x', 'a']);
    expect(bashArgs({kind: 'stdin', args: []})).toEqual(['--norc']);
    expect(bashArgs({kind: 'script', file: 'f', args: []})).toEqual(['--norc', 'f']);
    expect(bashArgs({kind: 'interactive', historyFile: 'h'})).toContain('-i');
  });
  it('waits for the mount when a text names container paths', () => {
    expect(namesContainers('grep x /containers/web/etc')).toBe(true);
    expect(namesContainers('cd /; cd containers')).toBe(true);
    expect(namesContainers('ls /hosts')).toBe(true);
    expect(namesContainers('echo hello')).toBe(false);
  });
  it('needs no mount for one plain call of a builtin (bash hands its words to dbox as they are)', () => {
    const names = ['ls', 'cat', 'cp'];
    expect(onlyBuiltinCall('ls -l /containers/web/etc', names)).toBe(true);
    expect(onlyBuiltinCall('  cp /containers/a/x /containers/b/tmp/ ', names)).toBe(true);
    for (const l of ['grep x /containers/a', 'ls /containers/*/etc', 'ls /containers/a > out', 'ls $D', 'ls ~/x', 'ls "a b"',
      'ls a; grep b /containers/c', 'ls a | wc', 'ls `x`', 'ls a\nb', 'ls a&', 'ls \\x']) expect(onlyBuiltinCall(l, names)).toBe(false);
  });
});
