import {describe, expect, it} from 'vitest';
import {absolute, basename, dirname, followInRoot, locate, MAX_LINK_HOPS, normalize, tildify, typedPath, type LinkLook} from '../../src/vfs/path.js';

describe('normalize', () => {
  it.each([
    ['/', '/'], ['//a//b/', '/a/b'], ['/a/./b', '/a/b'], ['/a/b/..', '/a'], ['/..', '/'], ['/../../x', '/x'],
    ['/containers/web/..', '/containers'], ['/containers/web/../..', '/'],
  ])('%s -> %s', (input, out) => expect(normalize(input)).toBe(out));
});

describe('absolute', () => {
  const env = {cwd: '/containers/web/etc', home: '/root'};
  it.each([
    ['hosts', '/containers/web/etc/hosts'], ['..', '/containers/web'], ['../..', '/containers'],
    ['/tmp/../etc', '/etc'], ['.', '/containers/web/etc'],
    // An operand reaches a builtin after bash's expansion: a `~` still in it is a name (`ls '~'`).
    ['~', '/containers/web/etc/~'], ['~/x', '/containers/web/etc/~/x'],
  ])('%s from %s', (arg, out) => expect(absolute(arg, env)).toBe(out));
  it.each([['~', '/root'], ['~/x', '/root/x'], ['~x', '/containers/web/etc/~x'], ['a', '/containers/web/etc/a']])(
    'a word being typed: %s is %s', (arg, out) => expect(typedPath(arg, env)).toBe(out));
});

describe('locate', () => {
  it('host paths', () => expect(locate('/etc/hosts')).toEqual({kind: 'host', path: '/etc/hosts'}));
  it('the containers directory', () => expect(locate('/containers/')).toEqual({kind: 'containers'}));
  it('a container root', () => expect(locate('/containers/web')).toEqual({kind: 'container', name: 'web', path: '/'}));
  it('inside a container', () =>
    expect(locate('/containers/web/etc/../var/log')).toEqual({kind: 'container', name: 'web', path: '/var/log'}));
  it('.. at a container root leaves to /containers, never to the host', () =>
    expect(locate('/containers/web/..')).toEqual({kind: 'containers'}));
  it('/hosts', () => {
    expect(locate('/hosts')).toEqual({kind: 'hosts'});
    expect(locate('/hosts/prod')).toEqual({kind: 'containers', endpoint: 'prod'});
    expect(locate('/hosts/prod/web/etc')).toEqual({kind: 'container', endpoint: 'prod', name: 'web', path: '/etc'});
  });
  it('a host directory named like containers elsewhere is a host path', () =>
    expect(locate('/srv/containers/web')).toEqual({kind: 'host', path: '/srv/containers/web'}));
});

describe('helpers', () => {
  it('basename/dirname', () => {
    expect(basename('/containers/web')).toBe('web');
    expect(basename('/')).toBe('/');
    expect(dirname('/a/b')).toBe('/a');
    expect(dirname('/a')).toBe('/');
  });
  it('tildify', () => {
    expect(tildify('/root/x', '/root')).toBe('~/x');
    expect(tildify('/rootless', '/root')).toBe('/rootless');
    expect(tildify('/containers/web', '/root')).toBe('/containers/web');
  });
});

describe('followInRoot (the one in-root link follower: engine driver, cp)', () => {
  /** A tree of links and files: a lookup of a path not in it finds nothing. */
  const tree = (entries: Record<string, {link: string} | 'file'>) => {
    const looked: string[] = [];
    const look = async (p: string): Promise<LinkLook<string>> => {
      looked.push(p);
      const e = entries[p];
      return e === undefined ? undefined : e === 'file' ? {found: p} : e;
    };
    return {look, looked};
  };

  it('follows relative and absolute targets to what is there', async () => {
    const t = tree({'/a/l': {link: '../b/m'}, '/b/m': {link: '/c/f'}, '/c/f': 'file'});
    expect(await followInRoot('/a/l', t.look)).toEqual({path: '/c/f', found: '/c/f'});
    expect(t.looked).toEqual(['/a/l', '/b/m', '/c/f']);
  });

  it('never leaves the root: .. and absolute targets stop at its /', async () => {
    const t = tree({'/l': {link: '../../../../etc/passwd'}, '/m': {link: '/../../x'}});
    expect(await followInRoot('/l', t.look)).toEqual({path: '/etc/passwd'});
    expect(await followInRoot('/m', t.look)).toEqual({path: '/x'});
  });

  it('a dangling link: the path it leads to, nothing found there (cp writes there)', async () => {
    expect(await followInRoot('/d', tree({'/d': {link: 'new'}}).look)).toEqual({path: '/new'});
  });

  it('a loop, or a chain longer than the kernel follows: loop', async () => {
    expect(await followInRoot('/a', tree({'/a': {link: 'b'}, '/b': {link: 'a'}}).look)).toBe('loop');
    const chain: Record<string, {link: string} | 'file'> = {[`/l${MAX_LINK_HOPS}`]: 'file'};
    for (let i = 0; i < MAX_LINK_HOPS; i++) chain[`/l${i}`] = {link: `l${i + 1}`};
    expect(await followInRoot('/l1', tree(chain).look)).toEqual({path: `/l${MAX_LINK_HOPS}`, found: `/l${MAX_LINK_HOPS}`});
    expect(await followInRoot('/l0', tree(chain).look)).toBe('loop');
  });
});
