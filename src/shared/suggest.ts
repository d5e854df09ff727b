// "Did you mean …?" for unknown names: the closest known name by edit distance, if close enough.

export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const prev = new Array<number>(b.length + 1);
  const cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    for (let j = 0; j <= b.length; j++) prev[j] = cur[j]!;
  }
  return prev[b.length]!;
}

/**
 * The known name nearest to `name`: the shortest name that `name` begins (a truncated name is the
 * commonest typo of a long dotted key), else the nearest by edit distance within a third of its length.
 */
export function closest(name: string, known: Iterable<string>): string | undefined {
  const names = [...known];
  const extensions = names.filter((k) => k.startsWith(name) && k !== name && name.length >= 3);
  if (extensions.length > 0) return extensions.sort((a, b) => a.length - b.length || a.localeCompare(b))[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of names) {
    const d = editDistance(name, candidate);
    if (d < bestDistance || (d === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.ceil(name.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** ` (did you mean X?)` or the empty string. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const hit = closest(name, known);
  return hit === undefined ? '' : ` (did you mean ${hit}?)`;
}
