/**
 * The one progress bar of the command line: rate and ETA on stderr, shown only on a terminal and
 * never with `--json` (scripts read stdout; stderr stays clean for them). Started by the first
 * `update`, which also says how many units there are.
 */
import cliProgress from "cli-progress";

export class Progress {
  readonly #unit: string;
  readonly #quiet: boolean;
  #bar: cliProgress.SingleBar | undefined;
  #started = 0;

  /** `unit`: what is counted (threads); `quiet`: no bar at all (`--json`). */
  constructor(unit: string, quiet: boolean) {
    this.#unit = unit;
    this.#quiet = quiet || !process.stderr.isTTY;
  }

  /** `done` of `total` units; `checkpoints`, when given, is shown beside them. */
  update(done: number, total: number, checkpoints?: number): void {
    if (this.#quiet || total === 0) return;
    const seconds = Math.max((Date.now() - this.#started) / 1000, 0.001);
    const payload = {
      rate: this.#bar ? (done / seconds).toFixed(1) : "0",
      checkpoints: checkpoints === undefined ? "" : ` | ${checkpoints} checkpoints`,
    };
    if (!this.#bar) {
      this.#started = Date.now();
      this.#bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `{bar} {percentage}% | {value}/{total} ${this.#unit} | {rate} ${this.#unit}/s{checkpoints} | ETA {eta_formatted}`,
          clearOnComplete: true,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(total, done, payload);
      return;
    }
    this.#bar.setTotal(total);
    this.#bar.update(done, payload);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}
