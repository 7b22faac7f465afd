// A spinner on stderr while the engine is slow: shown when calls have been in flight for 200 ms,
// erased as soon as none is. Only while a line runs (the prompt is not on screen then).
const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Spinner {
  private delay: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  enabled = false;

  constructor(private readonly out: NodeJS.WriteStream, private readonly afterMs = 200) {}

  /** Engine activity: pending calls now. */
  activity(pending: number): void {
    if (pending > 0 && this.enabled && !this.delay && !this.timer) {
      this.delay = setTimeout(() => {
        this.delay = undefined;
        this.timer = setInterval(() => this.out.write(`\r${frames[this.frame++ % frames.length]} `), 80);
        this.timer.unref();
      }, this.afterMs);
      this.delay.unref();
    } else if (pending === 0) this.stop();
  }

  stop(): void {
    if (this.delay) clearTimeout(this.delay);
    this.delay = undefined;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.out.write('\r\x1b[K');
    }
  }
}
