/**
 * A hand-driven clock for tests of time-dependent behaviour (TTLs, sweeps, leases): time moves
 * only when the test says so, so no assertion depends on how fast the machine is.
 */

/** Where every fake clock starts unless told otherwise: a fixed, realistic instant (epoch ms). */
export const FAKE_EPOCH = Date.UTC(2026, 0, 1);

/**
 * A clock in epoch milliseconds that stands still until {@link FakeClock.advance} moves it.
 * `now` is a bound function, so it can be handed over as a `now` option directly.
 *
 * @example
 * const clock = new FakeClock();
 * const store = new Store(backend, { now: clock.now });
 * clock.advance(60_000);
 */
export class FakeClock {
  #time: number;

  constructor(start: number = FAKE_EPOCH) {
    if (!Number.isFinite(start))
      throw new RangeError(`a clock must start at a finite time, got ${start}`);
    this.#time = start;
  }

  /** The current time in epoch milliseconds. */
  readonly now = (): number => this.#time;

  /** Moves the clock forward by `ms` milliseconds (never backward). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`a clock only moves forward by a finite amount, got ${ms}`);
    }
    this.#time += ms;
  }
}
