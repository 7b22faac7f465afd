// attach's state asked through the runner of the context (ShellContext.capture), and that runner:
// what the helper's `state` answers becomes (key=value lines are data, never a command; an answer
// it refuses is reported, not used), and runCaptured's status, output and failures.
import {describe, expect, it} from 'vitest';
import {AttachState} from '../../src/attach/state.js';
import {AttachError} from '../../src/attach/toolbox.js';
import {attachHelper} from '../../src/self.js';
import type {Capture, Captured} from '../../src/shell/context.js';
import {runCaptured} from '../../src/shell/run-program.js';

/** A capture that answers `answer` and records what it was asked. */
function fake(answer: Captured): {capture: Capture; asked: string[][]} {
  const asked: string[][] = [];
  return {asked, capture: async (program, args) => (asked.push([program, ...args]), answer)};
}

describe('AttachState', () => {
  const id = 'a'.repeat(64);
  it('asks the helper, and reads an upload\'s and a mount\'s state', async () => {
    const f = fake({status: 0, stdout: 'method=upload\ntarget=/.dbox\ntoken=abc=d\n', stderr: ''});
    expect(await new AttachState(f.capture).read(id)).toEqual({state: {method: 'upload', target: '/.dbox', token: 'abc=d'}});
    expect(f.asked).toEqual([[attachHelper, 'state', 'get', '--id', id]]);
    expect(await new AttachState(fake({status: 0, stdout: 'method=blockdev\ntarget=/t\n', stderr: ''}).capture).read(id))
      .toEqual({state: {method: 'blockdev', target: '/t'}});
  });

  it('none (status 3), refused (why, without the prefix), an unknown method', async () => {
    expect(await new AttachState(fake({status: 3, stdout: '', stderr: ''}).capture).read(id)).toEqual({});
    expect(await new AttachState(fake({status: 1, stdout: '', stderr: 'attach: state file is not root\'s\nmore\n'}).capture).read(id))
      .toEqual({invalid: 'state file is not root\'s'});
    expect(await new AttachState(fake({status: 0, stdout: 'method=rm -rf /\ntarget=/\n', stderr: ''}).capture).read(id)).toEqual({invalid: 'unknown method'});
  });

  it('records and forgets through the helper; a refusal or a helper that cannot start is an AttachError', async () => {
    const ok = fake({status: 0, stdout: '', stderr: ''});
    await new AttachState(ok.capture).recordUpload(id, '/.dbox', 'tok');
    await new AttachState(ok.capture).forget(id);
    expect(ok.asked).toEqual([[attachHelper, 'state', 'put', '--id', id, '--method', 'upload', '--target', '/.dbox', '--token', 'tok'],
      [attachHelper, 'state', 'remove', '--id', id]]);
    await expect(new AttachState(fake({status: 1, stdout: '', stderr: 'attach: exists\n'}).capture).recordUpload(id, '/t', 'x')).rejects.toThrow(/^exists$/);
    const gone = new AttachState(fake({status: 127, stdout: '', stderr: '', error: 'spawn ENOENT'}).capture);
    await expect(gone.read(id)).rejects.toBeInstanceOf(AttachError);
    await expect(gone.forget(id)).rejects.toThrow(/spawn ENOENT/);
  });
});

describe('runCaptured', () => {
  it('collects stdout and stderr apart, and the status', async () => {
    expect(await runCaptured('/bin/sh', ['-c', 'printf out; printf err >&2; exit 3'])).toEqual({status: 3, stdout: 'out', stderr: 'err'});
  });
  it('128+N for signal N, 127 and why when the program cannot start', async () => {
    expect((await runCaptured('/bin/sh', ['-c', 'kill -TERM $$'])).status).toBe(143);
    const r = await runCaptured('/nonexistent/program', []);
    expect(r).toMatchObject({status: 127, error: expect.stringMatching(/ENOENT/)});
  });
  it('takes the working directory and environment given', async () => {
    expect(await runCaptured('/bin/sh', ['-c', 'pwd; echo "$X"'], {cwd: '/', env: {X: 'y', PATH: '/bin:/usr/bin'}}))
      .toEqual({status: 0, stdout: '/\ny\n', stderr: ''});
  });
});
