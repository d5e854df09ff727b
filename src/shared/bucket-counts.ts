// Observations counted into fixed buckets: a histogram for modules that must not depend on a metrics
// library (the access log counts here on its hot path); the server's metrics read it at scrape time.

export class BucketCounts {
  /** Upper bounds, ascending; an observation goes into the first bucket whose bound is >= it. */
  readonly bounds: readonly number[];
  /** Per bucket, not cumulative; the last one (index bounds.length) is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new TypeError('BucketCounts: bounds must ascend');
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts `v` with weight `n`: no allocation, a scan of a dozen bounds. */
  observe(v: number, n = 1): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]! += n;
    this.sum += v * n;
    this.count += n;
  }
}
