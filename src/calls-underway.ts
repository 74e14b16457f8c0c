/**
 * The calls a storage's `close()` lets finish first: counted from the moment each is made (not
 * from when its work starts), so that a close that comes meanwhile waits for it. A checkpointer
 * or a store closed while writes are in flight, as a server shutting down may, neither cuts them
 * off nor loses them.
 */
export class CallsUnderway {
  readonly #running = new Set<Promise<unknown>>();

  /** `call`, counted until it settles. */
  track<T>(call: Promise<T>): Promise<T> {
    this.#running.add(call);
    const done = () => this.#running.delete(call);
    call.then(done, done);
    return call;
  }

  /** Resolves once every call made so far has settled (however it settled). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#running);
  }
}
