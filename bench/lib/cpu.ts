import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU accounting from /proc (Linux only; elsewhere every figure is NaN), to tell where the
 * machine's cores went during a run: the load generator, the app, PostgreSQL.
 */
let ticksPerSecond = 0;
function hz(): number {
  if (ticksPerSecond === 0) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime, stime, cutime, cstime of one process, in clock ticks; null if it is gone. */
function procTicks(pid: number | string): { comm: string; ticks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    // Fields after "comm)": state is field 3, utime..cstime are fields 14..17.
    const rest = stat.slice(close + 2).split(" ");
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(rest[i] ?? 0), 0);
    return { comm, ticks };
  } catch {
    return null;
  }
}

/** CPU seconds a process (all its threads, plus reaped children) has used so far. */
export function processCpuSeconds(pid: number): number {
  const t = procTicks(pid);
  return t ? t.ticks / hz() : Number.NaN;
}

/**
 * CPU seconds used by every PostgreSQL process so far. Backends that exited are counted in the
 * postmaster's children times, so connections opened and closed during a run are not lost.
 */
export function postgresCpuSeconds(): number {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return Number.NaN;
  }
  let ticks = 0;
  for (const pid of pids) {
    const t = procTicks(pid);
    if (t && (t.comm === "postgres" || t.comm === "postmaster")) ticks += t.ticks;
  }
  return ticks / hz();
}

/** Busy and total CPU seconds of the whole machine (all cores) so far. */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user/nice)
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: (total - idle) / hz(), total: total / hz() };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

export interface CpuSnapshot {
  generator: number;
  app: number;
  postgres: number;
  machineBusy: number;
  machineTotal: number;
}

export function cpuSnapshot(appPid: number): CpuSnapshot {
  const usage = process.cpuUsage();
  const machine = machineCpuSeconds();
  return {
    generator: (usage.user + usage.system) / 1e6,
    app: processCpuSeconds(appPid),
    postgres: postgresCpuSeconds(),
    machineBusy: machine.busy,
    machineTotal: machine.total,
  };
}

/** CPU seconds spent between two snapshots, per consumer. */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  return {
    generator: after.generator - before.generator,
    app: after.app - before.app,
    postgres: after.postgres - before.postgres,
    machineBusy: after.machineBusy - before.machineBusy,
    machineTotal: after.machineTotal - before.machineTotal,
  };
}
