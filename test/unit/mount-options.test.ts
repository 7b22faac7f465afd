import {describe, expect, it} from 'vitest';
import {MountUsageError, optionList, parseMountArgs, parseMountOptions, refusal, userAllowOther} from '../../src/fuse/mount-options.js';

describe('mount options', () => {
  it('reads -o lists, repeated -o and -oLIST, allow_other bringing default_permissions', () => {
    expect(parseMountOptions([])).toEqual({allowOther: false, defaultPermissions: false, readOnly: false});
    expect(parseMountOptions(['allow_other'])).toEqual({allowOther: true, defaultPermissions: true, readOnly: false});
    expect(parseMountOptions(['ro,allow_other'])).toEqual({allowOther: true, defaultPermissions: true, readOnly: true});
    expect(parseMountArgs(['-o', 'ro', '-o', 'allow_other']).options).toEqual({allowOther: true, defaultPermissions: true, readOnly: true});
    expect(parseMountArgs(['-oro']).options.readOnly).toBe(true);
    expect(parseMountOptions(['default_permissions'])).toEqual({allowOther: false, defaultPermissions: true, readOnly: false});
  });

  it('lets the last of ro and rw win, skips empty items', () => {
    expect(parseMountOptions(['ro,rw']).readOnly).toBe(false);
    expect(parseMountOptions(['rw', 'ro']).readOnly).toBe(true);
    expect(parseMountOptions([',,ro,'])).toEqual({allowOther: false, defaultPermissions: false, readOnly: true});
  });

  it('refuses any other option, libfuse and kernel ones included', () => {
    for (const bad of ['x', 'allow_root', 'suid', 'dev', 'fd=3', 'user_id=0', 'fsname=x', 'allow_other=1', 'RO', ' ro', 'ro\n']) {
      expect(() => parseMountOptions([`ro,${bad}`])).toThrow(MountUsageError);
    }
    expect(() => parseMountOptions(['ro,x'])).toThrow("unknown mount option 'x'");
  });

  it('reads the mount process arguments and refuses others', () => {
    expect(parseMountArgs(['--foreground', '--ready-fd', '3', '--parent-pipe'])).toEqual({
      options: {allowOther: false, defaultPermissions: false, readOnly: false}, foreground: true, parentPipe: true, readyFd: 3, operands: [], help: false});
    expect(() => parseMountArgs(['-o'])).toThrow("option requires an argument -- 'o'");
    expect(() => parseMountArgs(['--ready-fd', 'x'])).toThrow(MountUsageError);
    expect(() => parseMountArgs(['--bogus'])).toThrow("unrecognized option '--bogus'");
    expect(() => parseMountArgs(['-x', 'dir'])).toThrow("invalid option -- 'x'");
    expect(parseMountArgs(['--help']).help).toBe(true);
    expect(parseMountArgs(['-o', 'ro', 'dir']).operands).toEqual(['dir']);
    expect(parseMountArgs(['dir', '--', '--help']).operands).toEqual(['dir', '--help']);
    expect(parseMountArgs(['--', '--help']).help).toBe(false);
  });

  it('gives libfuse a list it reads back the same', () => {
    expect(optionList(parseMountOptions([]))).toBe('');
    expect(optionList(parseMountOptions(['allow_other,ro']))).toBe('allow_other,default_permissions,ro');
    const o = parseMountOptions(['ro', 'allow_other']);
    expect(parseMountOptions([optionList(o)])).toEqual(o);
  });

  it('needs user_allow_other in fuse.conf for allow_other by a user other than root', () => {
    expect(userAllowOther('# user_allow_other\nmount_max = 1000\n')).toBe(false);
    expect(userAllowOther('mount_max = 1000\n  user_allow_other  # yes\n')).toBe(true);
    const allow = parseMountOptions(['allow_other']);
    expect(refusal(allow, 0, undefined)).toBeUndefined();
    expect(refusal(allow, 1000, undefined)).toMatch(/user_allow_other.*\/etc\/fuse\.conf/);
    expect(refusal(allow, 1000, '#user_allow_other\n')).toMatch(/user_allow_other/);
    expect(refusal(allow, 1000, 'user_allow_other\n')).toBeUndefined();
    expect(refusal(parseMountOptions(['ro']), 1000, undefined)).toBeUndefined();
  });
});
