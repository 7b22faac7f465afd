// The one owner of spawn-and-wait-for-ready (src/fuse/ready.ts), with real processes.
import {describe, expect, it} from 'vitest';
import {spawn} from 'node:child_process';
import {readyOf, spawnReady, StartFailed} from '../../src/fuse/ready.js';

const sh = (script: string, channel: 1 | 3 = 1): ReturnType<typeof spawnReady> =>
  spawnReady('sh', ['-c', script], {channel, stdin: 'ignore', stderr: 'inherit'});

describe('spawnReady', () => {
  it('resolves on "ready", with what follows it, and keeps the later lines of stdout', async () => {
    const {child, said, lines} = await sh('echo "ready /x"; echo ok; echo "error later"');
    expect(said).toBe('/x');
    expect((await lines!.next()).value).toBe('ok');
    expect((await lines!.next()).value).toBe('error later');
    await new Promise((r) => child.once('exit', r));
  });

  it('reads the ready line on fd 3', async () => {
    const {said, lines} = await sh('echo "ready here" >&3', 3);
    expect(said).toBe('here');
    expect(lines).toBeUndefined();
  });

  it('rejects with the reason an "error" line gives', async () => {
    await expect(sh('echo "error cannot mount"; exit 1')).rejects.toThrow(new StartFailed('cannot mount', true));
  });

  it('an "error" line on fd 3 is a failed start, not readiness, and the reason is the process\'s own', async () => {
    // The session's mount spawns its process itself (more descriptors than spawnReady gives): readyOf.
    const child = spawn('sh', ['-c', 'echo "error /dev/fuse is not the FUSE device" >&3; exit 1'], {stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'ignore']});
    const failed = await readyOf(child, 3).then(() => undefined, (e: unknown) => e);
    expect(failed).toBeInstanceOf(StartFailed);
    expect(failed).toMatchObject({message: '/dev/fuse is not the FUSE device', told: true});
    await expect(sh('exit 3')).rejects.toMatchObject({told: false});
  });

  it('rejects when the process exits before a line, saying how', async () => {
    await expect(sh('exit 3')).rejects.toThrow('exited with status 3');
    await expect(spawnReady('/nonexistent/helper', [], {channel: 1, stdin: 'ignore', stderr: 'inherit'})).rejects.toThrow(StartFailed);
  });

  it('rejects anything else as the first line, and ends the process', async () => {
    await expect(sh('echo readyish; exec sleep 30')).rejects.toThrow('unexpected answer: "readyish"');
  });
});
