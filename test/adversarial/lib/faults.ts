// The fault shim (adversaries/fault-shim.c) as the tests use it: built once per file, put under
// one program by LD_PRELOAD, and its log read back.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type FaultFamily = 'pthread_create' | 'malloc' | 'open';

/** Builds the shim into `dir`; its path. */
export function buildFaultShim(dir: string): string {
  const shim = path.join(dir, 'fault-shim.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', shim, path.join(import.meta.dirname, '../adversaries/fault-shim.c'), '-ldl']);
  return shim;
}

/** The environment that makes call `n` of `family` fail in the process named `only` (and only
 *  there), counting opens only of paths holding `match` when given; the shim logs to `log`. */
export function faultEnv(shim: string, family: FaultFamily, n: number, only: string, log: string, match = ''): NodeJS.ProcessEnv {
  return {...process.env, LD_PRELOAD: shim, DBOX_FAULT: family, DBOX_FAULT_AT: String(n), DBOX_FAULT_ONLY: only, DBOX_FAULT_LOG: log,
    DBOX_FAULT_MATCH: match};
}

/** What the shim logged: the most calls any process with it made, and whether one failure struck. */
export function faultLog(log: string): {calls: number; injected: boolean} {
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number)) : [];
  return {calls: Math.max(0, ...lines.map((l) => l[0]!)), injected: lines.some((l) => l[1] === 1)};
}
