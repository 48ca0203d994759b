/**
 * CPU time used by process trees, read from /proc (Linux). On a shared 2-core machine latency figures
 * swing with the neighbours' load; CPU milliseconds per order do not, and bound the throughput:
 * at most (cores × 1000) / (CPU ms per order) orders per second.
 */
import fs from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on every Linux we run on

interface Stat {
  ppid: number;
  /** utime + stime (+ cutime + cstime of reaped children), ms */
  cpuMs: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name may hold spaces and parentheses: fields start after the last ')'
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return { ppid: Number(fields[1]), cpuMs: ticks * TICK_MS };
  } catch {
    return null; // gone
  }
}

/** CPU ms of each root and all its live descendants (plus what reaped children left in the parent). */
export function treeCpuMs(roots: Record<string, number | undefined>): Record<string, number> {
  if (process.platform !== "linux") return {};
  const stats = new Map<number, Stat>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  const sum = (pid: number): number => (stats.get(pid)?.cpuMs ?? 0) + (children.get(pid) ?? []).reduce((s, c) => s + sum(c), 0);
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(roots)) if (pid) out[name] = sum(pid);
  return out;
}

/** `after - before` per name. */
export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, ms]) => [name, ms - (before[name] ?? 0)]));
}
