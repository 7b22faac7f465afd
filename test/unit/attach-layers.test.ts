// The pure parts of attach's snapshot and helper: which layer directories an engine's inspect
// answer may name (every other answer refused, with why), what the program inside gets of the
// image's Config, and which capabilities a helper container asks for.
import {describe, expect, it} from 'vitest';
import {helperCaps, HELPER_CAPS} from '../../src/attach/helper-container.js';
import {snapshotArgs, snapshotConfig, snapshotLayers} from '../../src/attach/snapshot.js';

const hex = (c: string): string => c.repeat(64);
const layer = (c: string, init = ''): string => `/var/lib/docker/overlay2/${hex(c)}${init}/diff`;
const inspect = (upper: unknown, lower?: unknown, name: unknown = 'overlay2'): unknown =>
  ({GraphDriver: {Name: name, Data: {UpperDir: upper, ...(lower !== undefined ? {LowerDir: lower} : {})}}});

describe('snapshotLayers', () => {
  it('takes the upper layer then the lower ones, top first', () => {
    expect(snapshotLayers(inspect(layer('a'), `${layer('a', '-init')}:${layer('b')}`))).toEqual([layer('a'), layer('a', '-init'), layer('b')]);
    expect(snapshotLayers(inspect(layer('c')))).toEqual([layer('c')]); // an image of one layer
    expect(snapshotLayers(inspect('/data/docker/overlay2/' + hex('d') + '/diff'))).toEqual(['/data/docker/overlay2/' + hex('d') + '/diff']);
  });

  it.each([
    ['another shape', inspect('/etc'), /not one of overlay2's: "\/etc"/],
    ['a climb', inspect(`/var/lib/docker/overlay2/../../../etc/overlay2/${hex('a')}/diff`), /not one of overlay2's/],
    ['a dot', inspect(`/var/./lib/docker/overlay2/${hex('a')}/diff`), /not one of overlay2's/],
    ['relative', inspect(`var/lib/docker/overlay2/${hex('a')}/diff`), /not one of overlay2's/],
    ['double slash', inspect(`/var//lib/docker/overlay2/${hex('a')}/diff`), /not one of overlay2's/],
    ['a comma (an overlay option)', inspect(`/var/lib,x/docker/overlay2/${hex('a')}/diff`), /not one of overlay2's/],
    ['a NUL', inspect(`/var/lib\0/docker/overlay2/${hex('a')}/diff`), /not one of overlay2's/],
    ['a short id', inspect('/var/lib/docker/overlay2/abc/diff'), /not one of overlay2's/],
    ['merged, not diff', inspect(`/var/lib/docker/overlay2/${hex('a')}/merged`), /not one of overlay2's/],
    ['an empty lower entry', inspect(layer('a'), `${layer('b')}::${layer('c')}`), /not one of overlay2's: ""/],
    ['a layer twice', inspect(layer('a'), layer('a')), /twice/],
    ['no upper', inspect(undefined, layer('a')), /no layer directories/],
    ['a number', inspect(7), /no layer directories/],
    ['another driver', inspect(layer('a'), undefined, 'vfs'), /storage driver is vfs, not overlay2/],
    ['no driver', {}, /storage driver is unknown/],
    ['too many', inspect(layer('a'), Array.from({length: 128}, (_, i) => layer(i.toString(16).padStart(2, '0').slice(-1))).join(':')), /more than 128 layers/],
  ])('refuses %s', (_, info, message) => {
    expect(() => snapshotLayers(info)).toThrow(message);
  });
});

describe('snapshotConfig', () => {
  it('keeps the image\'s environment with the toolbox first on PATH, its working directory and hostname', () => {
    expect(snapshotConfig({Config: {Env: ['A=1', 'PATH=/usr/bin:/bin'], WorkingDir: '/srv', Hostname: 'web'}}, '/.dbox'))
      .toEqual({env: ['A=1', 'PATH=/.dbox/bin:/usr/bin:/bin'], workdir: '/srv', hostname: 'web'});
  });
  it('drops what it cannot pass on: entries without =, NULs, relative or control-character directories, odd hostnames', () => {
    expect(snapshotConfig({Config: {Env: ['noequals', 'B=a\0b', 7, '=x'], WorkingDir: 'srv', Hostname: 'a b'}}, '/t'))
      .toEqual({env: ['PATH=/t/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], workdir: '/', hostname: 'snapshot'});
    expect(snapshotConfig({Config: {WorkingDir: '/a\nb', Hostname: '-x'}}, '/t')).toMatchObject({workdir: '/', hostname: 'snapshot'});
    expect(snapshotConfig(null, '/t').env).toHaveLength(1);
  });
  it('gives the helper its arguments: layers, source, target, config, then the program', () => {
    expect(snapshotArgs({...inspect(layer('a')) as object, Config: {Hostname: 'h'}}, '/tb', '/.dbox', ['sh', '-c', 'x'])).toEqual(['run',
      '--layer', layer('a'), '--source', '/tb', '--target', '/.dbox', '--hostname', 'h', '--workdir', '/',
      '--env', 'PATH=/.dbox/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--', 'sh', '-c', 'x']);
  });
});

describe('helperCaps', () => {
  it('asks for its own, the engine\'s defaults, and the target\'s CapAdd when they are the kernel\'s names', () => {
    const caps = helperCaps({HostConfig: {CapAdd: ['NET_ADMIN', 'cap_sys_time', 'ALL', 'EVIL; rm', 7]}});
    for (const c of [...HELPER_CAPS, 'CHOWN', 'KILL', 'NET_ADMIN', 'SYS_TIME']) expect(caps).toContain(c);
    expect(caps).not.toContain('ALL');
    expect(caps.filter((c) => !/^[A-Z_]+$/.test(c))).toEqual([]);
    expect(new Set(caps).size).toBe(caps.length);
    expect(helperCaps(null)).not.toContain('NET_ADMIN');
  });
});
