// The one parser of mountinfo (src/fuse/mounts.ts): escaped mount points, optional fields.
import {describe, expect, it} from 'vitest';
import {mountAt, parseMountinfo} from '../../src/fuse/mounts.js';

const text = [
  '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
  '130 27 0:75 / /tmp/dbox\\040mnt rw,nosuid,nodev,relatime shared:5 master:2 - fuse.dbox dbox rw,user_id=0,group_id=0',
  '131 27 0:76 / /tmp/a\\012b\\011c\\134d rw - fuse /dev/fuse rw',
  '132 27 0:77 / /tmp/stacked rw - tmpfs none rw',
  '133 132 0:78 / /tmp/stacked rw - fuse.dbox dbox rw',
  'garbage line',
  '',
].join('\n');

describe('parseMountinfo', () => {
  it('reads ids, device, root, mount point, type and source, past optional fields', () => {
    const [first, second] = parseMountinfo(text);
    expect(first).toEqual({id: 36, parent: 35, dev: '98:0', root: '/mnt1', mountPoint: '/mnt2', fstype: 'ext3', source: '/dev/root'});
    expect(second).toMatchObject({id: 130, dev: '0:75', mountPoint: '/tmp/dbox mnt', fstype: 'fuse.dbox'});
  });

  it('undoes the kernel\'s octal escapes, so a newline or tab in a path cannot shift a field', () => {
    expect(parseMountinfo(text)[2]!.mountPoint).toBe('/tmp/a\nb\tc\\d');
  });

  it('skips malformed lines, and finds the topmost of stacked mounts by exact path', () => {
    const table = parseMountinfo(text);
    expect(table).toHaveLength(5);
    expect(mountAt('/tmp/stacked', table)?.id).toBe(133);
    expect(mountAt('/tmp/stack', table)).toBeUndefined();
    expect(mountAt('/tmp/dbox', table)).toBeUndefined();
  });
});
