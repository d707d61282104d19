/**
 * Multi-value search for redaction: an Aho–Corasick automaton over every value, so a text
 * is scanned once whatever the number and length of the values (a regular expression of
 * every value is refused by V8 past ~30,000 characters, and costs text × values).
 */

/** A half-open range `[start, end)` of a text. */
export interface TextRange {
  readonly start: number;
  readonly end: number;
}

/** Transitions out of the root for these code units are a direct table lookup. */
const ROOT_TABLE_SIZE = 128;

/**
 * Finds every occurrence of a fixed set of values in a text, in time linear in the text
 * (plus the number of matches) and built in time linear in the values' total length. The
 * trie lives in typed arrays (about 18 bytes per value character), not in one object per
 * node, so a 65,536-character value costs a few MB, not tens.
 *
 * @example
 * ```ts
 * const matcher = ValueMatcher.of(['s3cret', 'hunter2']);
 * matcher.ranges('user hunter2 said s3cret'); // [{ start: 5, end: 12 }, { start: 18, end: 24 }]
 * ```
 */
export class ValueMatcher {
  /** Code unit on the edge into each node. */
  readonly #unit: Uint16Array;
  readonly #firstChild: Int32Array;
  readonly #nextSibling: Int32Array;
  readonly #fail: Int32Array;
  /** Length of the longest value that is a suffix of the node's path (0: none). */
  readonly #longest: Int32Array;
  readonly #rootTable = new Int32Array(ROOT_TABLE_SIZE);

  private constructor(capacity: number) {
    this.#unit = new Uint16Array(capacity);
    this.#firstChild = new Int32Array(capacity);
    this.#nextSibling = new Int32Array(capacity);
    this.#fail = new Int32Array(capacity);
    this.#longest = new Int32Array(capacity);
  }

  /** Builds a matcher for `values` (empty strings are ignored). */
  static of(values: Iterable<string>): ValueMatcher {
    const list = [...values];
    let capacity = 1;
    for (const value of list) capacity += value.length;
    const matcher = new ValueMatcher(capacity);
    const count = matcher.#insertAll(list);
    matcher.#link(count);
    return matcher;
  }

  // Node 0 is the root; 0 also means "no node", since the root is nobody's child.
  #child(node: number, unit: number): number {
    if (node === 0 && unit < ROOT_TABLE_SIZE) return this.#rootTable[unit] as number;
    for (let child = this.#firstChild[node] as number; child !== 0; ) {
      if (this.#unit[child] === unit) return child;
      child = this.#nextSibling[child] as number;
    }
    return 0;
  }

  #insertAll(values: readonly string[]): number {
    let count = 1;
    for (const value of values) {
      if (value.length === 0) continue;
      let node = 0;
      for (let i = 0; i < value.length; i++) {
        const unit = value.charCodeAt(i);
        let next = this.#child(node, unit);
        if (next === 0) {
          next = count++;
          this.#unit[next] = unit;
          this.#nextSibling[next] = this.#firstChild[node] as number;
          this.#firstChild[node] = next;
          if (node === 0 && unit < ROOT_TABLE_SIZE) this.#rootTable[unit] = next;
        }
        node = next;
      }
      this.#longest[node] = value.length;
    }
    return count;
  }

  /** Failure links, breadth first; a node's longest suffix value follows from its link. */
  #link(count: number): void {
    const queue = new Int32Array(count);
    let head = 0;
    let tail = 0;
    queue[tail++] = 0;
    while (head < tail) {
      const node = queue[head++] as number;
      for (let child = this.#firstChild[node] as number; child !== 0; ) {
        const unit = this.#unit[child] as number;
        let target = 0;
        if (node !== 0) {
          for (let fallback = this.#fail[node] as number; ; ) {
            target = this.#child(fallback, unit);
            if (target !== 0 || fallback === 0) break;
            fallback = this.#fail[fallback] as number;
          }
        }
        this.#fail[child] = target;
        if (this.#longest[child] === 0) this.#longest[child] = this.#longest[target] as number;
        queue[tail++] = child;
        child = this.#nextSibling[child] as number;
      }
    }
  }

  /**
   * Every part of `text` covered by an occurrence of a value, as disjoint ranges in text
   * order. Overlapping occurrences (of different values, or a value and a longer spelling
   * of it) merge into one range, so no part of either survives; adjacent ones stay apart.
   */
  ranges(text: string): TextRange[] {
    // Locals rather than field reads in the loop: this is the hot path of every log line.
    const units = this.#unit;
    const firstChild = this.#firstChild;
    const nextSibling = this.#nextSibling;
    const fail = this.#fail;
    const longest = this.#longest;
    const rootTable = this.#rootTable;
    const starts: number[] = [];
    const ends: number[] = [];
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      for (;;) {
        let next = 0;
        if (state === 0 && unit < ROOT_TABLE_SIZE) {
          next = rootTable[unit] as number;
        } else {
          for (let child = firstChild[state] as number; child !== 0; ) {
            if (units[child] === unit) {
              next = child;
              break;
            }
            child = nextSibling[child] as number;
          }
        }
        if (next !== 0) {
          state = next;
          break;
        }
        if (state === 0) break;
        state = fail[state] as number;
      }
      const length = longest[state] as number;
      if (length === 0) continue;
      // Ends only grow, so every earlier range overlapping this one is on top of the stack.
      let start = i + 1 - length;
      while (ends.length > 0 && (ends[ends.length - 1] as number) > start) {
        ends.pop();
        start = Math.min(start, starts.pop() as number);
      }
      starts.push(start);
      ends.push(i + 1);
    }
    return starts.map((start, k) => ({ start, end: ends[k] as number }));
  }
}

/**
 * Merges range lists (each disjoint and in order, as {@link ValueMatcher.ranges} returns
 * them) into one: overlapping ranges become one.
 */
export function mergeRanges(lists: readonly (readonly TextRange[])[]): TextRange[] {
  const nonEmpty = lists.filter((list) => list.length > 0);
  if (nonEmpty.length <= 1) return [...(nonEmpty[0] ?? [])];
  const all = nonEmpty.flat().sort((a, b) => a.start - b.start);
  const merged: TextRange[] = [];
  for (const range of all) {
    const last = merged[merged.length - 1];
    if (last && range.start < last.end) {
      if (range.end > last.end) merged[merged.length - 1] = { start: last.start, end: range.end };
    } else {
      merged.push(range);
    }
  }
  return merged;
}

/** `text` with each range replaced by `replacement`. */
export function replaceRanges(
  text: string,
  ranges: readonly TextRange[],
  replacement: string,
): string {
  if (ranges.length === 0) return text;
  const parts: string[] = [];
  let from = 0;
  for (const { start, end } of ranges) {
    parts.push(text.slice(from, start), replacement);
    from = end;
  }
  parts.push(text.slice(from));
  return parts.join('');
}
