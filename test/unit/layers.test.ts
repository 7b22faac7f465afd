// The engine's words about where an image's, a stopped container's and a volume's files are
// (src/docker/layers.ts): hostile paths refused before anything is sent to the agent.
import {describe, expect, it} from 'vitest';
import {canonicalPath, dataRootFromInfo, imagesFromList, layersFromInspect, validImageRef, volumeDirFromInspect} from '../../src/docker/layers.js';
import {childrenOf} from '../../src/vfs/virtual-dirs.js';

const ROOT = '/var/lib/docker';
const L = (id: string): string => `${ROOT}/overlay2/${id}/diff`;
const inspect = (upper: unknown, lower?: unknown, name = 'overlay2'): unknown =>
  ({GraphDriver: {Name: name, Data: {UpperDir: upper, ...(lower === undefined ? {} : {LowerDir: lower}), MergedDir: `${ROOT}/overlay2/x/merged`}}});

describe('layer paths from the engine', () => {
  it('takes overlay2 layers, the upper directory on top', () => {
    expect(layersFromInspect(inspect(L('abc'), `${L('abc-init')}:${L('def')}`), ROOT)).toEqual({dataRoot: ROOT, layers: [L('abc'), L('abc-init'), L('def')]});
    expect(layersFromInspect(inspect(L('abc')), ROOT)).toEqual({dataRoot: ROOT, layers: [L('abc')]});
  });

  it.each([
    ['outside the data root', inspect('/etc/diff')],
    ['outside, with the shape', inspect('/var/lib/other/overlay2/abc/diff')],
    ['a .. component', inspect(`${ROOT}/overlay2/../../../etc/overlay2/abc/diff`)],
    ['.. as the layer', inspect(`${ROOT}/overlay2/../diff`)],
    ['a . component', inspect(`${ROOT}/overlay2/./abc/diff`)],
    ['an empty component', inspect(`${ROOT}/overlay2//abc/diff`)],
    ['a trailing slash', inspect(`${L('abc')}/`)],
    ['not a diff directory', inspect(`${ROOT}/overlay2/abc/merged`)],
    ['deeper than a layer', inspect(`${ROOT}/overlay2/abc/diff/etc`)],
    ['a comma (an overlay option)', inspect(L('abc'), `${L('def')},upperdir=/etc`)],
    ['a NUL', inspect(`${L('abc')}\0`)],
    ['a newline', inspect(`${ROOT}/overlay2/ab\nc/diff`)],
    ['a relative path', inspect('var/lib/docker/overlay2/abc/diff')],
    ['an empty lower entry', inspect(L('abc'), `${L('def')}::${L('ghi')}`)],
    ['a repeated layer', inspect(L('abc'), L('abc'))],
    ['not a string', inspect(42)],
    ['another driver', inspect(L('abc'), undefined, 'btrfs')],
    ['no GraphDriver', {}],
    ['null', null],
  ])('refuses %s', (_what, answer) => {
    expect(layersFromInspect(answer, ROOT)).toBeUndefined();
  });

  it('refuses more layers than an overlay takes', () => {
    const lower = Array.from({length: 128}, (_, i) => L(`l${i}`)).join(':');
    expect(layersFromInspect(inspect(L('top'), lower), ROOT)).toBeUndefined();
    expect(layersFromInspect(inspect(L('top'), lower.split(':').slice(0, 127).join(':')), ROOT)?.layers).toHaveLength(128);
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
