import {describe, expect, it} from 'vitest';
import {absolute, basename, dirname, locate, normalize, tildify, typedPath} from '../../src/vfs/path.js';

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
