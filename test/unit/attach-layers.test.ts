// The pure parts of attach's snapshot and helper: which layer directories an engine's inspect
// answer may name (every other answer refused, with why), what the program inside gets of the
// image's Config, and which capabilities a helper container asks for.
import {describe, expect, it} from 'vitest';
import {helperCaps, HELPER_CAPS} from '../../src/attach/helper-container.js';
import {layersAt, snapshotArgs, snapshotConfig, snapshotLayers} from '../../src/attach/snapshot.js';

// Which layers are taken is layers.ts's one check (its cases: test/unit/layers.test.ts); here, how a snapshot uses it.
const ROOT = '/var/lib/docker';
const hex = (c: string): string => c.repeat(64);
const layer = (c: string, init = ''): string => `${ROOT}/overlay2/${hex(c)}${init}/diff`;
const inspect = (upper: unknown, lower?: unknown, name: unknown = 'overlay2'): unknown =>
  ({GraphDriver: {Name: name, Data: {UpperDir: upper, ...(lower !== undefined ? {LowerDir: lower} : {})}}});

describe('snapshotLayers', () => {
  it('takes the upper layer then the lower ones, top first, below the data root', () => {
    expect(snapshotLayers(inspect(layer('a'), `${layer('a', '-init')}:${layer('b')}`), ROOT)).toEqual({dataRoot: ROOT, layers: [layer('a'), layer('a', '-init'), layer('b')]});
    expect(snapshotLayers(inspect(layer('c')), ROOT).layers).toEqual([layer('c')]);
  });

  it.each([
    ['another shape', inspect('/etc'), ROOT, /not one of overlay2's: "\/etc"/],
    ['a layer outside the data root', inspect(`/data/docker/overlay2/${hex('d')}/diff`), ROOT, /not one of overlay2's/],
    ['a layer twice', inspect(layer('a'), layer('a')), ROOT, /twice/],
    ['no data root', inspect(layer('a')), undefined, /no data root/],
    ['another driver', inspect(layer('a'), undefined, 'vfs'), ROOT, /^the engine's storage driver is vfs, not overlay2: no snapshot can be made of its layers$/],
  ])('refuses %s, with why', (_, info, root, message) => {
    expect(() => snapshotLayers(info, root)).toThrow(message);
  });

  it('finds the layers where a helper has the data root bound', () => {
    expect(layersAt({dataRoot: ROOT, layers: [layer('a'), layer('b')]}, '/engine'))
      .toEqual({dataRoot: '/engine', layers: [`/engine/overlay2/${hex('a')}/diff`, `/engine/overlay2/${hex('b')}/diff`]});
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
    const info = {...inspect(layer('a')) as object, Config: {Hostname: 'h'}};
    expect(snapshotArgs(info, snapshotLayers(info, ROOT), '/tb', '/.dbox', ['sh', '-c', 'x'])).toEqual(['run', '--data-root', ROOT,
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
