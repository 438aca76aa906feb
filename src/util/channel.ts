/**
 * A small async queue: values pushed from callbacks, consumed with `for await`. Used by task
 * watchers, streaming invocations and the Open Floor gRPC streams.
 *
 * @module
 */

/** An unbounded single-consumer queue. */
export class Channel<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #waiting: ((r: IteratorResult<T>) => void)[] = [];
  #done = false;
  #error: unknown;

  /** Queues a value (ignored after {@link end}). */
  push(value: T): void {
    if (this.#done) return;
    const w = this.#waiting.shift();
    if (w !== undefined) w({ value, done: false });
    else this.#items.push(value);
  }

  /** Ends the stream after the queued values; with `error`, iteration then throws it. */
  end(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    for (const w of this.#waiting.splice(0)) w({ value: undefined, done: true });
  }

  get ended(): boolean {
    return this.#done;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#items.length > 0) {
        yield this.#items.shift() as T;
        continue;
      }
      if (this.#done) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      const r = await new Promise<IteratorResult<T>>((resolve) => this.#waiting.push(resolve));
      if (r.done === true) {
        if (this.#items.length > 0) continue;
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      yield r.value;
    }
  }
}
