// The engine's words about where an image's, a stopped container's and a volume's files are
// (src/docker/layers.ts): hostile paths refused before anything is sent to the agent.
import {describe, expect, it} from 'vitest';
import {canonicalPath, dataRootFromInfo, imagesFromList, layerDirs, validImageRef, volumeDirFromInspect} from '../../src/docker/layers.js';
import {childrenOf} from '../../src/vfs/virtual-dirs.js';

// The one check of layer paths (the agent's and attach --snapshot's): the cases of both kept here.
const ROOT = '/var/lib/docker';
const hex = (c: string): string => c.repeat(64).slice(0, 64);
const id = (n: number): string => n.toString(16).padStart(64, '0');
const L = (layer: string): string => `${ROOT}/overlay2/${layer}/diff`;
const inspect = (upper: unknown, lower?: unknown, name: unknown = 'overlay2'): unknown =>
  ({GraphDriver: {Name: name, Data: {UpperDir: upper, ...(lower === undefined ? {} : {LowerDir: lower}), MergedDir: `${ROOT}/overlay2/x/merged`}}});

describe('layer paths from the engine', () => {
  it('takes overlay2 layers, the upper directory on top', () => {
    expect(layerDirs(inspect(L(hex('a')), `${L(hex('a') + '-init')}:${L(hex('d'))}`), ROOT))
      .toEqual({dataRoot: ROOT, layers: [L(hex('a')), L(hex('a') + '-init'), L(hex('d'))]});
    expect(layerDirs(inspect(L(hex('a'))), ROOT)).toEqual({dataRoot: ROOT, layers: [L(hex('a'))]}); // an image of one layer
    const other = `/data/docker/overlay2/${hex('d')}/diff`;
    expect(layerDirs(inspect(other), '/data/docker')).toEqual({dataRoot: '/data/docker', layers: [other]});
  });

  const SHAPE = /not one of overlay2's/;
  it.each([
    ['outside the data root', inspect('/etc/diff'), /not one of overlay2's: "\/etc\/diff"/],
    ['outside, with the shape', inspect(`/var/lib/other/overlay2/${hex('a')}/diff`), SHAPE],
    ['a data root of its own, elsewhere', inspect(`/data/docker/overlay2/${hex('d')}/diff`), SHAPE],
    ['a .. component', inspect(`${ROOT}/overlay2/../../../etc/overlay2/${hex('a')}/diff`), SHAPE],
    ['.. as the layer', inspect(`${ROOT}/overlay2/../diff`), SHAPE],
    ['a . component', inspect(`${ROOT}/overlay2/./${hex('a')}/diff`), SHAPE],
    ['a dot above the data root', inspect(`/var/./lib/docker/overlay2/${hex('a')}/diff`), SHAPE],
    ['an empty component', inspect(`${ROOT}/overlay2//${hex('a')}/diff`), SHAPE],
    ['a double slash above', inspect(`/var//lib/docker/overlay2/${hex('a')}/diff`), SHAPE],
    ['a trailing slash', inspect(`${L(hex('a'))}/`), SHAPE],
    ['not a diff directory', inspect(`${ROOT}/overlay2/${hex('a')}/merged`), SHAPE],
    ['deeper than a layer', inspect(`${L(hex('a'))}/etc`), SHAPE],
    ['a short id', inspect(L('abc')), SHAPE],
    ['an id not of hex digits', inspect(L('g'.repeat(64))), SHAPE],
    ['upper-case hex', inspect(L('A'.repeat(64))), SHAPE],
    ['a comma (an overlay option)', inspect(L(hex('a')), `${L(hex('d'))},upperdir=/etc`), SHAPE],
    ['a comma above', inspect(`/var/lib,x/docker/overlay2/${hex('a')}/diff`), SHAPE],
    ['a NUL', inspect(`${L(hex('a'))}\0`), SHAPE],
    ['a newline', inspect(`${ROOT}/overlay2/${hex('a')}\n/diff`), SHAPE],
    ['a relative path', inspect(`var/lib/docker/overlay2/${hex('a')}/diff`), SHAPE],
    ['an empty lower entry', inspect(L(hex('a')), `${L(hex('b'))}::${L(hex('c'))}`), /not one of overlay2's: ""/],
    ['a repeated layer', inspect(L(hex('a')), L(hex('a'))), /twice/],
    ['no upper', inspect(undefined, L(hex('a'))), /no layer directories/],
    ['not a string', inspect(42), /no layer directories/],
    ['a lower not a string', inspect(L(hex('a')), 7), /no layer directories/],
    ['another driver', inspect(L(hex('a')), undefined, 'btrfs'), /storage driver is btrfs, not overlay2/],
    ['a driver name with control characters', inspect(L(hex('a')), undefined, 'x\u001b[2J'), /storage driver is "x\\u001b\[2J", not overlay2/],
    ['no GraphDriver', {}, /storage driver is unknown/],
    ['null', null, /storage driver is unknown/],
  ])('refuses %s', (_what, answer, why) => {
    const r = layerDirs(answer, ROOT);
    expect(r).toEqual({why: expect.stringMatching(why)});
  });

  it('refuses any layer without a data root of the engine\'s', () => {
    for (const root of [undefined, '/', '', 'var/lib/docker', '/var/lib/docker/']) {
      expect(layerDirs(inspect(L(hex('a'))), root)).toEqual({why: expect.stringMatching(/no data root/)});
    }
  });

  it('refuses more layers than an overlay takes', () => {
    const lower = Array.from({length: 128}, (_, i) => L(id(i))).join(':');
    expect(layerDirs(inspect(L(hex('f')), lower), ROOT)).toEqual({why: 'more than 128 layers'});
    const r = layerDirs(inspect(L(hex('f')), lower.split(':').slice(0, 127).join(':')), ROOT);
    expect('layers' in r && r.layers).toHaveLength(128);
  });

  it('takes a data root only when canonical and not /', () => {
    expect(dataRootFromInfo({DockerRootDir: ROOT})).toBe(ROOT);
    for (const bad of ['/', '', 'var/lib/docker', '/var/lib/../docker', '/var//lib', '/var/lib/docker/', '/a:b', 5, undefined]) {
      expect(dataRootFromInfo({DockerRootDir: bad})).toBeUndefined();
    }
    expect(canonicalPath('/a/b')).toBe(true);
  });

  it('takes a local volume only at <root>/volumes/<its name>/_data, without options', () => {
    const v = (o: Record<string, unknown>): unknown => ({Driver: 'local', Name: 'data', Mountpoint: `${ROOT}/volumes/data/_data`, Options: null, ...o});
    expect(volumeDirFromInspect(v({}), ROOT)).toBe(`${ROOT}/volumes/data/_data`);
    expect(volumeDirFromInspect(v({Options: {}}), ROOT)).toBe(`${ROOT}/volumes/data/_data`);
    expect(volumeDirFromInspect(v({Mountpoint: '/etc'}), ROOT)).toBeUndefined();
    expect(volumeDirFromInspect(v({Mountpoint: `${ROOT}/volumes/other/_data`}), ROOT)).toBeUndefined();
    expect(volumeDirFromInspect(v({Mountpoint: `${ROOT}/volumes/../../../etc/_data`, Name: '..'}), ROOT)).toBeUndefined();
    expect(volumeDirFromInspect(v({Options: {type: 'none', o: 'bind', device: '/etc'}}), ROOT)).toBeUndefined();
    expect(volumeDirFromInspect(v({Driver: 'nfs'}), ROOT)).toBeUndefined();
  });
});

describe('image names', () => {
  it('keeps repo:tag names whose parts are path components, each once', () => {
    const id = `sha256:${'a'.repeat(64)}`;
    const list = [
      {Id: id, RepoTags: ['dbox-test/busybox:latest', 'busybox:1', '<none>:<none>', '../x:1', 'a/../b:1', 'a//b:1', 'x:y\n', 'localhost:5000/app:v2']},
      {Id: 'sha256:short', RepoTags: ['evil:1']},
      {Id: id, RepoTags: ['busybox:1']},
    ];
    expect(imagesFromList(list).map((i) => i.ref)).toEqual(['dbox-test/busybox:latest', 'busybox:1', 'localhost:5000/app:v2']);
    expect(validImageRef('../../etc:x')).toBe(false);
    expect(imagesFromList(null)).toEqual([]);
  });

  it('lists the directories above images', () => {
    const names = ['dbox-test/busybox:latest', 'dbox-test/noshell:latest', 'alpine:3', 'localhost:5000/app:v2'];
    expect(childrenOf(names, '/')).toEqual(['dbox-test', 'alpine:3', 'localhost:5000']);
    expect(childrenOf(names, '/dbox-test')).toEqual(['busybox:latest', 'noshell:latest']);
    expect(childrenOf(names, '/nothing')).toBeUndefined();
    expect(childrenOf([], '/')).toEqual([]);
  });
});
