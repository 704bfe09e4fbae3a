/** Bytes as the biggest whole unit, as the CLI prints them: `4.0 GiB`, `100.0 MiB`, `12 bytes`. */
export function formatBytes(bytes: number): string {
  const units: [string, number][] = [
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ];
  for (const [unit, size] of units) {
    if (bytes >= size) return `${(bytes / size).toFixed(1)} ${unit}`;
  }
  return `${bytes} bytes`;
}
