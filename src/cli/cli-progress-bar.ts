/**
 * A progress bar with rate and ETA on stderr, shown only on a terminal and never with `--json`
 * (scripts read stdout; stderr stays clean for them).
 */
import cliProgress from "cli-progress";

/** A bar over `total` items of `unit`; `update(done)` moves it; `stop()` clears the line. */
export interface ProgressBar {
  update(done: number): void;
  stop(): void;
}

export function progressBar(total: number, unit: string, quiet: boolean): ProgressBar {
  if (quiet || !process.stderr.isTTY || total === 0) return { update() {}, stop() {} };
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { rate: "0" });
  return {
    update(done) {
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? (done / seconds).toFixed(1) : "0" });
    },
    stop() {
      bar.stop();
    },
  };
}
