// The one-line progress display of `cordon scan` (on a terminal only): bytes read and MB/s, and
// with the total known (files), the percentage and the time left at the rate so far.

/** The progress line for `bytes` of `total` (0 when unknown) read in `secs` seconds. */
export function progressLine(bytes: number, total: number, secs: number): string {
  const s = Math.max(0.001, secs);
  const rate = bytes / s;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (total <= 0) return `scanning: ${mb(bytes)} MB, ${mb(rate)} MB/s`;
  const done = Math.min(bytes, total);
  const pct = Math.floor((done / total) * 100);
  const eta = rate > 0 ? clock((total - done) / rate) : '?';
  return `scanning: ${mb(done)} of ${mb(total)} MB (${pct}%), ${mb(rate)} MB/s, ${eta} left`;
}

/** Seconds as M:SS, or H:MM:SS from an hour on. */
export function clock(secs: number): string {
  const t = Math.ceil(secs);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Progress on `out` at most four times a second; `total` 0 when the size is not known. */
export function createProgress(out: NodeJS.WritableStream, total: number, now: () => number = Date.now): { add: (n: number) => void; done: () => void } {
  const started = now();
  let bytes = 0;
  let last = 0;
  return {
    add(n) {
      bytes += n;
      const t = now();
      if (t - last < 250) return;
      last = t;
      out.write(`\r${progressLine(bytes, total, (t - started) / 1000)}   `);
    },
    done() {
      if (last > 0) out.write('\r\x1b[K');
    },
  };
}
