/**
 * A bounded FIFO of fixed-size numeric records in one typed array: what TCP sends
 * without a connection (RSTs, cookie SYN-ACKs) waits here for pull, allocating nothing.
 */
export class RecordQueue {
  readonly data: Uint32Array;
  private head = 0;
  /** Records held. */
  count = 0;

  constructor(
    readonly capacity: number,
    readonly fields: number,
  ) {
    this.data = new Uint32Array(capacity * fields);
  }

  /** Where to write a new record at the tail (its first field in `data`), or -1 when full. */
  push(): number {
    if (this.count >= this.capacity) return -1;
    const i = ((this.head + this.count) % this.capacity) * this.fields;
    this.count++;
    return i;
  }

  /** Takes the oldest record off; its fields stay readable at the returned index until the next push. -1 when empty. */
  shift(): number {
    if (this.count === 0) return -1;
    const i = this.head * this.fields;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return i;
  }

  clear(): void {
    this.head = this.count = 0;
  }
}
