// Why a FUSE mount cannot be made by a user: the verdict on what the system shows (src/fuse/usable.ts).
import {describe, expect, it} from 'vitest';
import {fuseProblem, type FuseFacts} from '../../src/fuse/usable.js';

const device = {isCharacterDevice: true, rdev: (10 << 8) | 229, mode: 0o20666};
const helper = {mode: 0o104755, uid: 0};
const fine: FuseFacts = {uid: 1000, device, openable: true, helpers: {fusermount3: helper, fusermount: helper}};

describe('fuseProblem', () => {
  it('nothing in the way: undefined (libfuse says the rest)', () => {
    expect(fuseProblem(fine)).toBeUndefined();
    expect(fuseProblem({...fine, uid: 0, openable: false, helpers: {}})).toBeUndefined(); // root opens it and mounts itself
  });

  it('no device, or another device at its name', () => {
    const {device: _d, ...without} = fine;
    expect(fuseProblem(without)).toMatch(/^\/dev\/fuse does not exist/);
    expect(fuseProblem({...fine, device: {...device, rdev: (1 << 8) | 3}})).toBe('/dev/fuse is not the FUSE device');
    expect(fuseProblem({...fine, uid: 0, device: {...device, isCharacterDevice: false}})).toBe('/dev/fuse is not the FUSE device');
  });

  it('a device this user may not open: its mode, and what most systems do', () => {
    expect(fuseProblem({...fine, openable: false, device: {...device, mode: 0o20600}}))
      .toBe("/dev/fuse is not open to this user (mode 0600; most systems make it 0666, as the fuse3 package's udev rule does: ask the administrator)");
  });

  it('no fusermount3 or fusermount, or one that is not setuid root', () => {
    expect(fuseProblem({...fine, helpers: {fusermount: helper}})).toMatch(/^fusermount3 is not installed .*apt-get install fuse3/);
    expect(fuseProblem({...fine, helpers: {fusermount3: helper}})).toMatch(/^fusermount is not installed/);
    expect(fuseProblem({...fine, helpers: {...fine.helpers, fusermount3: {mode: 0o100755, uid: 0}}})).toMatch(/^fusermount3 is not setuid root/);
    expect(fuseProblem({...fine, helpers: {...fine.helpers, fusermount3: {mode: 0o104755, uid: 1000}}})).toMatch(/^fusermount3 is not setuid root/);
  });
});
