// Wrong secrets from one address are counted: past `limit` in a window, that address is refused (429) until
// the window ends, whatever it sends, so a token cannot be guessed at thousands of tries a second. Memory is
// bounded: windows that ended are forgotten, and at most `maxKeys` addresses are tracked.

export class FailureLimiter {
  private readonly windows = new Map<string, { failures: number; until: number }>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;

  constructor(limit = 20, windowMs = 60_000, maxKeys = 10_000) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.maxKeys = maxKeys;
  }

  /** Seconds this address must wait, or 0 when it may try. */
  retryAfter(key: string, now = Date.now()): number {
    const window = this.windows.get(key);
    if (!window || window.until <= now) return 0;
    return window.failures >= this.limit ? Math.ceil((window.until - now) / 1000) : 0;
  }

  /** Counts a failure; returns the count in the current window. */
  fail(key: string, now = Date.now()): number {
    let window = this.windows.get(key);
    if (!window || window.until <= now) {
      if (this.windows.size >= this.maxKeys)
        for (const [k, w] of this.windows)
          if (w.until <= now || this.windows.size >= this.maxKeys) this.windows.delete(k);
      window = { failures: 0, until: now + this.windowMs };
      this.windows.set(key, window);
    }
    window.failures++;
    return window.failures;
  }
}
