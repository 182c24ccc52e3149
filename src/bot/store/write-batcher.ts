// Natural batching for writes that must be committed before their caller answers: the first write goes out
// at once; writes that arrive while a batch is being committed wait for it and then go out together, in one
// statement and one commit. A lone write pays nothing; a burst pays a few commits instead of one each.

export class WriteBatcher<Item, Result> {
  private waiting: Array<{ item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }> = [];
  private flushing = false;

  private readonly write: (items: Item[]) => Promise<Result[]>;
  private readonly maxBatch: number;

  /** `write` receives the batch and returns one result per item, in order. */
  constructor(write: (items: Item[]) => Promise<Result[]>, maxBatch = 500) {
    this.write = write;
    this.maxBatch = maxBatch;
  }

  add(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, this.maxBatch);
      try {
        const results = await this.write(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => entry.resolve(results[i]));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.flushing = false;
  }
}
