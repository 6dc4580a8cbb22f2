// cgroup limits of tsbuild-sandbox, read back from the host's cgroupfs
// while the command runs, and what the helper reports afterwards.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SandboxStart } from '../../executor/sandbox/index.js';
import { busyboxRootfs, buildHelper, cannotRun, privateCgroupParent, removeCgroupParent, removeTree, runIn } from './fixtures/sandbox-rootfs.js';

const MiB = 1024 * 1024;

/** The value of the first of `files` present in one of the sandbox's leaves. */
function cgroupValue(start: SandboxStart, ...files: string[]): string | null {
  for (const dir of start.cgroups) {
    for (const f of files) {
      const p = path.join(dir, f);
      if (existsSync(p)) return readFileSync(p, 'utf8').trim();
    }
  }
  return null;
}

describe.skipIf(cannotRun !== null)(`sandbox limits${cannotRun !== null ? ` (skipped: ${cannotRun})` : ''}`, () => {
  const parent = privateCgroupParent();
  const ctx = { base: '', lowers: [] as string[], parent };

  beforeAll(() => {
    buildHelper();
    ctx.lowers = [busyboxRootfs()];
    ctx.base = mkdtempSync(path.join(os.tmpdir(), 'tsb-sbx-lim-'));
  });
  afterAll(() => {
    for (const d of ctx.lowers) removeTree(d);
    removeTree(ctx.base);
    removeCgroupParent(parent);
  });

  test('a fork bomb is contained by limits.pids, and the host is unharmed', async () => {
    let pidsMax: string | null = null;
    let peak = 0;
    let refused = 0;
    let timer: NodeJS.Timeout | undefined;
    const hostBefore = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    // The classic bomb, relaunched until the sandbox ends (alone it can burn
    // out); the pause after it uses only builtins, as forks fail meanwhile.
    const script = 'mkfifo /tmp/p; exec 3<>/tmp/p; f(){ f|f& }; while :; do f; done 2>/dev/null & read -t 2 x <&3; echo alive';
    const { result, stdout } = await runIn(ctx, ['sh', '-c', script], { limits: { pids: 64 } }, {
      onStart: (s) => {
        pidsMax = cgroupValue(s, 'pids.max');
        timer = setInterval(() => {
          peak = Math.max(peak, Number(cgroupValue(s, 'pids.current') ?? 0));
          // "max N": forks the limit refused.
          refused = Math.max(refused, Number(/max (\d+)/.exec(cgroupValue(s, 'pids.events') ?? '')?.[1] ?? 0));
        }, 25);
      },
    });
    clearInterval(timer);
    expect(pidsMax).toBe('64');
    expect(stdout).toContain('alive');
    expect(result.status).toBe(0);
    expect(refused).toBeGreaterThan(0); // the bomb did hit the limit …
    expect(peak).toBeLessThanOrEqual(64); // … and stayed inside it
    const hostAfter = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    expect(hostAfter).toBeLessThan(hostBefore + 20);
  });

  test('a memory hog is OOM-killed at limits.memory and reported as oom', async () => {
    let limit: string | null = null;
    const { result } = await runIn(ctx, ['sh', '-c', 'head -c 300m /dev/zero | tail > /dev/null'], { limits: { memory: 64 * MiB } }, {
      onStart: (s) => {
        limit = cgroupValue(s, 'memory.max', 'memory.limit_in_bytes');
      },
    });
    expect(limit).toBe(String(64 * MiB));
    expect(result.oom).toBe(true);
    expect(result.status).toBe(137); // the shell reports its killed pipeline
    expect(result.memoryPeak).not.toBeNull();
    expect(result.memoryPeak as number).toBeGreaterThan(32 * MiB);
    expect(result.memoryPeak as number).toBeLessThanOrEqual(65 * MiB);
  });

  test('limits.cpus sets the CFS quota, and CPU time is measured', async () => {
    let quota: string | null = null;
    const { result } = await runIn(ctx, ['sh', '-c', 'timeout 1 sh -c "while :; do :; done"; true'], { limits: { cpus: 0.5 } }, {
      onStart: (s) => {
        quota = cgroupValue(s, 'cpu.max', 'cpu.cfs_quota_us');
      },
    });
    expect(['50000', '50000 100000']).toContain(quota);
    expect(result.cpuUsec).not.toBeNull();
    // A second of busy loop at half a CPU: about 0.5 s of CPU time.
    expect(result.cpuUsec as number).toBeGreaterThan(200_000);
    expect(result.cpuUsec as number).toBeLessThan(750_000);
  });

  test('without limits the cgroup still measures, and nothing is limited', async () => {
    let max: string | null = null;
    const { result } = await runIn(ctx, ['sh', '-c', 'head -c 8m /dev/zero | tail > /dev/null'], {}, {
      onStart: (s) => {
        max = cgroupValue(s, 'pids.max');
      },
    });
    expect(max).toBe('max');
    expect(result).toMatchObject({ status: 0, signal: null, oom: false });
    expect(result.memoryPeak as number).toBeGreaterThan(8 * MiB);
    expect(result.cpuUsec as number).toBeGreaterThan(0);
  });
});
