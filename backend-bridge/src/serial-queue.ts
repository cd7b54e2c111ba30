/** Runs asynchronous work one piece at a time, in the order it was asked for; a failure does not stop the queue. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves when the work asked for so far is done. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
