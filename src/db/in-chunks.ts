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

/**
 * inChunks for the values of an IN list, where a value repeated changes nothing: the last chunk
 * is padded up to a power of two with its last value, so that any count up to `size` is one
 * statement (50 ids: one of 64, not three of 32, 16 and 2), its text one of a few.
 */
export async function inListChunks<R>(values: readonly R[], size: number, fn: (chunk: R[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < values.length; i += size) {
    const chunk = values.slice(i, i + size);
    let n = 1;
    while (n < chunk.length) n <<= 1;
    while (chunk.length < n) chunk.push(chunk[chunk.length - 1]);
    await fn(chunk);
  }
}
