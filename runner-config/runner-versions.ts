/** Numeric comparison of dotted GitHub runner versions: `2.10.0` > `2.9.9`, `2.330.0` > `2.329.12`. */
export function compareRunnerVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}
