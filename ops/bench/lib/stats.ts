/** Small statistics and formatting helpers shared by the benchmarks. */

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** p50/p95/p99/max of `values` (any order). */
export function summarize(values: readonly number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
  };
}

/** `12.3` for small figures, `123` for large ones, `-` for NaN. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "-";
  return value < 100 ? value.toFixed(1) : String(Math.round(value));
}

/** Renders rows as a fixed-width table (first row is the header). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}

/** The 1-minute load average and core count, printed with every figure (the machine is shared). */
export async function loadAverage(): Promise<string> {
  const os = await import("node:os");
  const [one, five] = os.loadavg();
  return `load average ${one!.toFixed(2)} (1 min) / ${five!.toFixed(2)} (5 min) on ${os.cpus().length} cores`;
}
