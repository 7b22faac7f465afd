// Write-behind for new files: an exclusive create (a name nobody else has, as copies make under
// a temporary name) resolves once its bytes have left, without waiting for the agent's answer;
// the next operation of the same filesystem, whatever it is, first waits for every such write and
// fails with the first one's error if one failed. So a tree of small files is written in one
// round trip per window of files rather than one per file, and no failure goes unseen: a copy
// always ends with an operation (its rename into place), which reports it.
//
// What it promises, exactly: a resolved exclusive write may still fail, and then the very next
// call on this filesystem rejects with that write's error (naming that write's path) and nothing
// else of the call is done. At most WINDOW_FILES writes or WINDOW_BYTES bytes are outstanding;
// beyond that a write waits for the oldest.
const WINDOW_FILES = 64;
const WINDOW_BYTES = 16 << 20;

export class WriteBehind {
  private readonly outstanding = new Set<Promise<void>>();
  private bytes = 0;
  private failure: Error | undefined;

  /**
   * Starts `write` (its bytes already counted as `size`): resolves when `sent` resolves (the
   * bytes have left), while `done` (the agent's answer) is tracked for the next barrier.
   */
  async start(size: number, run: () => {sent: Promise<void>; done: Promise<void>}): Promise<void> {
    while (this.outstanding.size >= WINDOW_FILES || (this.bytes + size > WINDOW_BYTES && this.outstanding.size > 0)) {
      await Promise.race(this.outstanding);
    }
    this.check();
    const {sent, done} = run();
    let mine: Error | undefined;
    this.bytes += size;
    const tracked: Promise<void> = done.then(() => undefined, (error: Error) => {
      mine = error;
      this.failure ??= error;
    }).finally(() => {
      this.outstanding.delete(tracked);
      this.bytes -= size;
    });
    this.outstanding.add(tracked);
    try {
      await sent;
    } catch (error) {
      await tracked;
      if (mine && this.failure === mine) this.failure = undefined; // this call fails with it: not said twice
      throw error;
    }
  }

  /** Waits for every outstanding write; throws the first failure (once). */
  async barrier(): Promise<void> {
    while (this.outstanding.size > 0) await Promise.all(this.outstanding);
    this.check();
  }

  private check(): void {
    const f = this.failure;
    this.failure = undefined;
    if (f) throw f;
  }

  get pending(): boolean {
    return this.outstanding.size > 0 || this.failure !== undefined;
  }
}
