// Colours as GNU ls's defaults (LS_COLORS unset), and container states (pure).
import {S_IFMT} from '../vfs/types.js';

const SGR = (code: string, text: string): string => `\x1b[${code}m${text}\x1b[0m`;

export function colorName(name: string, mode: number): string {
  switch (mode & S_IFMT) {
    case 0o040000: return SGR((mode & 0o1002) === 0o1002 ? '30;42' : '01;34', name);
    case 0o120000: return SGR('01;36', name);
    case 0o010000: return SGR('40;33', name);
    case 0o140000: return SGR('01;35', name);
    case 0o020000:
    case 0o060000: return SGR('40;33;01', name);
    default:
      if (mode & 0o4000) return SGR('37;41', name);
      if (mode & 0o2000) return SGR('30;43', name);
      if (mode & 0o111) return SGR('01;32', name);
      return name;
  }
}

/** Running containers green, stopped (and dead) red, paused/restarting yellow. */
export function colorContainer(name: string, state: string): string {
  if (state === 'running') return SGR('32', name);
  if (state === 'paused' || state === 'restarting') return SGR('33', name);
  return SGR('31', name);
}

/**
 * Whether coloured text can go through Ink: Ink NFC-normalises its output (wrap-ansi), which would
 * compose a leading combining mark with the final `m` of the colour sequence before it (`m` + U+0301
 * becomes `ḿ`) and break the sequence. Such text is shown uncoloured in Ink views (the prompt, the
 * completion list); ls writes straight to the terminal and colours it as GNU does.
 */
export const colorableInInk = (text: string): boolean => !/^\p{M}/u.test(text);
