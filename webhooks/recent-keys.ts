/**
 * The most recent keys seen, at most `limit` of them: the oldest is forgotten when a new one comes. Memory stays
 * flat whatever the number of keys; a key older than the window counts as new again.
 */
export class RecentKeys {
  /** A Set iterates in insertion order, so its first key is the oldest. */
  private readonly keys = new Set<string>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`the window must hold at least one key, not ${limit}`);
  }

  get size(): number {
    return this.keys.size;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Remembers `key`; false when it is already in the window. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.limit) {
      const [oldest] = this.keys;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return true;
  }

  delete(key: string): void {
    this.keys.delete(key);
  }
}
