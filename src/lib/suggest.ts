/** "Did you mean": the one edit-distance helper for commands and flags. No imports, so help loads it free. */

/** Edit distance with adjacent swaps (`modles` → `models` is 1). Small inputs only. */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  if (best && bestD <= limit) return best;
  // A prefix of exactly one candidate (`recon` → reconfigure).
  const starts = [...candidates].filter((c) => word.length >= 3 && c.startsWith(word.toLowerCase()));
  return starts.length === 1 ? starts[0] : undefined;
}


/**
 * The flags to suggest for an unknown one, as `--a`, `--a or --b`: the ones it is a whole part of
 * first (`port` → `--editor-port, …, --weak-port or --proxy-port`: what was meant, where an edit-distance match
 * would be a different flag, `--host`), else the closest by edit distance.
 */
export function closestFlags(word: string, candidates: Iterable<string>): string | undefined {
  const all = [...candidates];
  const w = word.toLowerCase();
  const parts = w.length >= 3 ? all.filter((c) => c !== w && c.split('-').includes(w)) : [];
  const shown = parts.slice(0, 4).map((c) => `--${c}`);
  if (shown.length) return shown.length > 1 ? `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}` : shown[0];
  const near = closest(word, all);
  return near ? `--${near}` : undefined;
}
