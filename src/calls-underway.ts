/**
 * The calls a storage's `close()` lets finish first: counted from the moment each is made (not
 * from when its work starts), so that a close that comes meanwhile waits for it. A checkpointer
 * or a store closed while writes are in flight, as a server shutting down may, neither cuts them
 * off nor loses them.
 */
export class CallsUnderway {
  #next = 0;
  /** Calls not settled yet, by number: a Set keeps them in the order they began. */
  readonly #running = new Set<number>();
  #waiting: { readonly before: number; readonly resolve: () => void }[] = [];

  /**
   * Counts a call from now until the function returned is called. Costs no promise, so an
   * `async` caller can count itself (ending in its `finally`).
   */
  begin(): () => void {
    const call = this.#next++;
    this.#running.add(call);
    return () => {
      if (this.#running.delete(call) && this.#waiting.length > 0) this.#wake();
    };
  }

  /** `call`, counted until it settles. */
  track<T>(call: Promise<T>): Promise<T> {
    const end = this.begin();
    call.then(end, end);
    return call;
  }

  /** Resolves once every call made so far has settled (however it settled). */
  settled(): Promise<void> {
    const before = this.#next;
    if (!this.#anyBefore(before)) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ before, resolve }));
  }

  /** Whether a call numbered below `before` is still running (the oldest comes first). */
  #anyBefore(before: number): boolean {
    for (const call of this.#running) return call < before;
    return false;
  }

  #wake(): void {
    this.#waiting = this.#waiting.filter((waiter) => {
      if (this.#anyBefore(waiter.before)) return true;
      waiter.resolve();
      return false;
    });
  }
}
