// Run `fn` over `items` with at most `limit` calls in flight. After the
// first failure no new item starts; the first error is thrown once the
// running calls have settled (so nothing is left writing behind our back).
export async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  let failed: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined && failed === null; item = queue.shift()) {
      try {
        await fn(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, queue.length)) }, worker));
  if (failed !== null) throw (failed as { error: unknown }).error;
}
