/**
 * Results that are promises only when they have to be: the checkpoint codec answers synchronously
 * on a synchronous serializer (the runtime pipelines its writes) and asynchronously on an
 * asynchronous one (LangGraph's serde), with one implementation of each step.
 */

/** A value, or a promise of it. */
export type Maybe<T> = T | Promise<T>;

export function isPromise<T>(value: Maybe<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === "function";
}

/** `next(value)`, after `value` settles when it is a promise. */
export function after<T, U>(value: Maybe<T>, next: (value: T) => Maybe<U>): Maybe<U> {
  return isPromise(value) ? value.then(next) : next(value);
}

export function all<T>(values: readonly Maybe<T>[]): Maybe<T[]> {
  return values.some(isPromise) ? Promise.all(values) : (values as T[]);
}

/** `fn()`, with what it throws or rejects with mapped by `fail`. */
export function guard<T>(fn: () => Maybe<T>, fail: (cause: unknown) => Error): Maybe<T> {
  let result: Maybe<T>;
  try {
    result = fn();
  } catch (cause) {
    throw fail(cause);
  }
  return isPromise(result)
    ? result.then(undefined, (cause) => {
        throw fail(cause);
      })
    : result;
}
