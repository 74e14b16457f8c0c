/**
 * A worker's periodic look (recovery, cancels): `task` every `intervalMs`, a tick skipped while
 * the previous look still runs, a failure only delaying it to the next look (a lost connection,
 * a restarting server), and the timer never keeping the process alive.
 */
export function every(intervalMs: number, task: () => Promise<unknown>): { stop(): void } {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    task()
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
