// cd: bash's own (it changes the shell's directory, which only bash can do), explained by dbox's
// `help cd` as dbox's builtins are. Every path works: the host's, /containers (a directory of the
// mount dbox keeps), and any path inside a container, through that mount.
import type {HelpTopic} from './help.js';

export const cdTopic: HelpTopic = {
  name: 'cd',
  usage: 'cd [-L|-P] [DIR|-|~|~USER]',
  summary: 'change the shell\'s directory (bash\'s own cd): host paths, /containers, paths inside a container',
  options: [
    '(no DIR)           your home directory ($HOME)', '-                  the previous directory ($OLDPWD), printed',
    '~, ~/x, ~USER      home directories, from the host\'s passwd (never a container\'s)',
    '-L                 logical: `..` removes the last name of $PWD, links stay in $PWD (the default)',
    '-P                 physical: links resolved, $PWD without them (inside a container, resolved in it: never the host)',
    'CDPATH             directories searched for a relative DIR, as bash does',
  ],
};
