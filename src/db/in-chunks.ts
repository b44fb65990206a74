// Multi-row statements in a few fixed sizes, so that the driver keeps one prepared form of each.
/**
 * Runs `fn` on `rows` in order, in chunks of `size` and then of falling powers of two (a
 * remainder of 300 with size 256: 256, 32, 8, 4). A multi-row statement's text depends on its
 * row count: with a few counts only, each text is prepared once and kept by the driver, where
 * one of every count would be prepared anew each time, its memory held until a full collection.
 */
export async function inChunks<R>(rows: readonly R[], size: number, fn: (chunk: R[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; ) {
    let n = size;
    while (n > rows.length - i) n >>= 1;
    await fn(rows.slice(i, i + n));
    i += n;
  }
}
