// cat's options on bytes (pure), as GNU cat 9.1's cat(): -n numbers every line, -b the non-empty
// ones, -s squeezes runs of empty lines into one, -E ends lines with `$`, -T shows TAB as `^I`,
// -v shows other control bytes as `^X` and bytes from 128 as `M-…`. The state (line number, the
// run of newlines) carries from one chunk and one file to the next, as GNU's does.

export interface CatOptions {
  readonly number?: boolean;
  readonly numberNonblank?: boolean;
  readonly squeeze?: boolean;
  readonly showEnds?: boolean;
  readonly showTabs?: boolean;
  readonly showNonprinting?: boolean;
}

export const catFilters = (o: CatOptions): boolean =>
  Boolean(o.number || o.numberNonblank || o.squeeze || o.showEnds || o.showTabs || o.showNonprinting);

export class CatFilter {
  private line = 0;
  /** GNU's `newlines`: -1 inside a line, else the newlines seen in a row at a line start (max 2). */
  private newlines = 0;
  private readonly number: boolean;
  constructor(private readonly o: CatOptions) {
    this.number = Boolean(o.number || o.numberNonblank);
  }

  private lineNumber(out: number[]): void {
    this.line++;
    for (const b of Buffer.from(`${String(this.line).padStart(6)}\t`)) out.push(b);
  }

  filter(chunk: Uint8Array): Buffer {
    const out: number[] = [];
    const o = this.o;
    for (const ch of chunk) {
      if (ch === 10) {
        if (++this.newlines > 0) {
          if (this.newlines >= 2) {
            this.newlines = 2;
            if (o.squeeze) continue;
          }
          if (o.number && !o.numberNonblank) this.lineNumber(out);
        }
        if (o.showEnds) out.push(36);
        out.push(10);
        continue;
      }
      if (this.newlines >= 0 && this.number) this.lineNumber(out);
      this.newlines = -1;
      if (o.showNonprinting) {
        if (ch >= 32) {
          if (ch < 127) out.push(ch);
          else if (ch === 127) out.push(94, 63);
          else {
            out.push(77, 45);
            const low = ch - 128;
            if (low >= 32) {
              if (low < 127) out.push(low);
              else out.push(94, 63);
            } else out.push(94, low + 64);
          }
        } else if (ch === 9 && !o.showTabs) out.push(9);
        else out.push(94, ch + 64);
      } else if (ch === 9 && o.showTabs) out.push(94, 73);
      else out.push(ch);
    }
    return Buffer.from(out);
  }
}
