// Run one async task per item, at most `concurrency` at a time. The first
// failure aborts the signal handed to the others and is what is thrown,
// after every task has settled (no transfer is left running behind us).
import pLimit from 'p-limit';

export async function runBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  outer: AbortSignal | undefined,
  task: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const cancel = new AbortController();
  const onOuterAbort = (): void => cancel.abort(outer?.reason);
  if (outer?.aborted) cancel.abort(outer.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const limit = pLimit(Math.max(1, concurrency));
  let failed = false;
  let firstError: unknown;
  try {
    const settled = await Promise.allSettled(
      items.map((item) =>
        limit(async () => {
          if (cancel.signal.aborted) throw cancel.signal.reason;
          try {
            return await task(item, cancel.signal);
          } catch (err) {
            if (!failed) {
              failed = true;
              firstError = err;
              cancel.abort(err);
            }
            throw err;
          }
        }),
      ),
    );
    if (failed) throw firstError;
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
  }
}
