// The edge where dbox hands a command to the user's real shell ($SHELL -c, bash if unset).

export interface ExternalRun {
  readonly text: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly shell: string;
}

/** Runs `text` with the terminal handed over (inherited stdio); resolves to its exit status. */
export async function runExternal(run: ExternalRun): Promise<number> {
  const {spawn} = await import('node:child_process'); // most lines never spawn: keep it off the start path
  return new Promise((resolve) => {
    const child = spawn(run.shell, ['-c', run.text], {cwd: run.cwd, env: run.env, stdio: 'inherit'});
    child.on('error', (error) => {
      process.stderr.write(`dbox: ${run.shell}: ${error.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 9)));
  });
}
