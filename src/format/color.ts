// Colours outside ls (pure): a name in GNU ls 9.1's built-in colours (the completion list: the
// same table ls uses, src/format/ls-colors.ts), and container states.
import {colorOf, DEFAULT_COLORS} from './ls-colors.js';

const SGR = (code: string, text: string): string => `\x1b[${code}m${text}\x1b[0m`;

/** `name` (already quoted) in the colour GNU ls gives a file of this mode without LS_COLORS. */
export function colorName(name: string, mode: number): string {
  const seq = colorOf(DEFAULT_COLORS, {name, mode}, false);
  return seq === undefined ? name : SGR(seq, name);
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
