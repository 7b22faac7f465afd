import {describe, expect, it} from 'vitest';
import {containerFromList, processFromInspect, validContainerId, validContainerName} from '../../src/docker/validate.js';
import {native} from '../../src/native.js';

const id = 'a'.repeat(64);

describe('engine JSON is checked before use', () => {
  it.each([
    ['web', true], ['my_app.1-x', true], ['a', false], ['', false], ['-web', false], ['.hidden', false],
    ['we\nb', false], ['we\tb', false], ['a/b', false], ['..', false], ['x\x1b]0;t\x07', false], ['ünï', false], ['a'.repeat(256), false],
  ])('name %j valid: %s', (name, ok) => {
    expect(validContainerName(name)).toBe(ok);
  });

  it.each([[id, true], ['A'.repeat(64), false], ['a'.repeat(63), false], ['a'.repeat(65), false], ['../../x', false], [42, false]])(
    'id %j valid: %s', (value, ok) => expect(validContainerId(value)).toBe(ok));

  it('renames a container whose name breaks the grammar to its short id, and keeps the rest as text', () => {
    const c = containerFromList({Id: id, Names: ['/evil\n+x\t/'], Image: 7, State: 'running', Status: 'Up', Created: 'x'});
    expect(c).toEqual({id, name: 'aaaaaaaaaaaa', image: '', state: 'running', status: 'Up', created: 0});
  });

  it('leaves out a container without a proper id, and makes an unknown state unknown', () => {
    expect(containerFromList({Id: '../../etc', Names: ['/web']})).toBeUndefined();
    expect(containerFromList(null)).toBeUndefined();
    expect(containerFromList({Id: id, Names: ['/web'], State: 'running\n'})?.state).toBe('unknown');
  });

  it.each([
    [{State: {Running: true, Pid: 1234}}, {running: true, pid: 1234}],
    [{State: {Running: false, Pid: 1234}}, {running: false}],
    [{State: {Running: 'true', Pid: 1234}}, {running: false}],
    [{State: {Running: true, Pid: 0}}, {running: true}],
    [{State: {Running: true, Pid: -1}}, {running: true}],
    [{State: {Running: true, Pid: 1.5}}, {running: true}],
    [{State: {Running: true, Pid: '12'}}, {running: true}],
    [{State: {Running: true, Pid: 2 ** 40}}, {running: true}],
    [{}, {running: false}],
    [null, {running: false}],
  ])('the process of %j is %j', (info, process) => expect(processFromInspect(info)).toEqual(process));
});

describe('a cgroup names a container only by its whole id', () => {
  const other = 'b'.repeat(64);
  it.each([
    [`0::/docker/${id}\n`, true],
    [`12:memory:/docker/${id}\n0::/\n`, true],
    [`0::/system.slice/docker-${id}.scope\n`, true],
    [`0::/machine.slice/libpod-${id}.scope/container\n`, true],
    [`0::/docker/${other}\n`, false],
    [`0::/docker/${id}0\n`, false],
    [`0::/docker/x${id}\n`, false],
    [`0::/\n`, false],
    [`${id}::/\n`, false], // in the hierarchy field, not the path
    ['', false],
  ])('%j -> %s', (text, ok) => expect(native().cgroupNames(text, id)).toBe(ok));

  it('refuses ids that are not 64 hex digits', () => {
    expect(native().cgroupNames('0::/docker/abc\n', 'abc')).toBe(false);
  });
});
