// Bundle stand-in for `is-in-ci` (used by Ink): Ink draws only its last frame in CI, which
// would leave an interactive dbox blank. A terminal on stdout means someone (or a pty) is
// watching, whatever CI says, so it counts as CI only without one.
import {env, stdout} from 'node:process';

const check = (key) => key in env && env[key] !== '0' && env[key] !== 'false';

export default !stdout.isTTY && (check('CI') || check('CONTINUOUS_INTEGRATION'));
