import {describe, expect, it} from 'vitest';
import {mentionsContainers, rewriteLine, toMountPath} from '../../src/shell/rewrite.js';

const M = '/run/user/0/dbox/mnt-1';

describe('rewriteLine', () => {
  it.each([
    ['grep -rn root /containers/web/etc | head', `grep -rn root ${M}/web/etc | head`],
    ['diff /containers/a/etc/passwd /containers/b/etc/passwd', `diff ${M}/a/etc/passwd ${M}/b/etc/passwd`],
    ['tar -C /containers/web/etc -cf - . | tar -tf - | wc -l', `tar -C ${M}/web/etc -cf - . | tar -tf - | wc -l`],
    ["vim '/containers/web/etc/my file'", `vim '${M}/web/etc/my file'`],
    ['ls /containers', `ls ${M}`],
    ['cat </containers/web/x >/containers/db/y', `cat <${M}/web/x >${M}/db/y`],
    ['rsync --files-from=/containers/web/list x', `rsync --files-from=${M}/web/list x`],
    ['X=/containers/web/etc sh -c "ls $X"', `X=${M}/web/etc sh -c "ls $X"`],
    ['diff /hosts/prod/web/etc/hosts /containers/web/etc/hosts', `diff ${M}/.hosts/prod/web/etc/hosts ${M}/web/etc/hosts`],
  ])('%s', (line, out) => expect(rewriteLine(line, M)).toBe(out));

  it.each(['echo foo/containers/web', 'ls /containersx', 'ls /srv/containers/web', 'echo "no paths here"', 'ls /hostsfile'])(
    'leaves %s alone', (line) => {
      expect(rewriteLine(line, M)).toBe(line);
      expect(mentionsContainers(line)).toBe(false);
    });
});

describe('toMountPath', () => {
  it('maps container paths and /containers itself', () => {
    expect(toMountPath('/containers/web/etc', M)).toBe(`${M}/web/etc`);
    expect(toMountPath('/containers/web', M)).toBe(`${M}/web`);
    expect(toMountPath('/containers', M)).toBe(M);
  });
  it('maps /hosts into the mount', () => {
    expect(toMountPath('/hosts', M)).toBe(`${M}/.hosts`);
    expect(toMountPath('/hosts/prod', M)).toBe(`${M}/.hosts/prod`);
    expect(toMountPath('/hosts/prod/web/etc', M)).toBe(`${M}/.hosts/prod/web/etc`);
  });
  it('host paths are not mount paths', () => expect(toMountPath('/etc', M)).toBeUndefined());
});
