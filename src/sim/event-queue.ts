/**
 * The simulator's agenda: events ordered by (time, insertion sequence), so simultaneous events
 * run in a fixed order and a seed replays exactly. A binary heap.
 */
export class EventQueue<T> {
  #heap: Array<{ time: number; seq: number; item: T }> = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(time: number, item: T): void {
    const heap = this.#heap;
    heap.push({ time, seq: this.#seq++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** The earliest event, or undefined when empty. */
  pop(): { time: number; item: T } | undefined {
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const top = heap[0] as { time: number; seq: number; item: T };
    const last = heap.pop() as { time: number; seq: number; item: T };
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.#less(l, m)) m = l;
        if (r < heap.length && this.#less(r, m)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return { time: top.time, item: top.item };
  }

  peekTime(): number | undefined {
    return this.#heap[0]?.time;
  }

  #less(i: number, j: number): boolean {
    const a = this.#heap[i] as { time: number; seq: number };
    const b = this.#heap[j] as { time: number; seq: number };
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const h = this.#heap;
    const t = h[i] as { time: number; seq: number; item: T };
    h[i] = h[j] as { time: number; seq: number; item: T };
    h[j] = t;
  }
}
