// The container log (JSON lines, one per output line, partial lines flushed)
// with its reader and follower, and the HEALTHCHECK state machine with
// real timers and scripted probe results.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, test } from 'vitest';
import type { Healthcheck } from '../../src/container/container-config.js';
import { HealthMonitor, type HealthState, type ProbeResult } from '../../src/container/healthcheck.js';
import { followLog, LogWriter, readLog, type LogEntry } from '../../src/container/log-file.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tsb-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('container log', () => {
  test('one entry per line and stream, whatever the chunking; UTF-8 split across chunks survives', async () => {
    const file = path.join(dir, 'a.log');
    const w = new LogWriter(file);
    const text = Buffer.from('one\ntwo é\nthree');
    for (const b of text) w.write('stdout', Buffer.from([b])); // one byte at a time
    w.write('stderr', Buffer.from('err\n'));
    await w.close();
    const { entries } = await readLog(file);
    expect(entries.map((e) => [e.stream, e.data])).toEqual([
      ['stdout', 'one\n'],
      ['stdout', 'two é\n'],
      ['stderr', 'err\n'],
      ['stdout', 'three'],
    ]);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toMatch(/^\{"stream":"stdout","time":"\d{4}-[^"]+Z","data":"one\\n"\}$/);
  });

  test('a line without its newline is written after a short silence (prompts show up)', async () => {
    const file = path.join(dir, 'b.log');
    const w = new LogWriter(file);
    w.write('stdout', Buffer.from('prompt> '));
    await sleep(400);
    expect((await readLog(file)).entries.map((e) => e.data)).toEqual(['prompt> ']);
    await w.close();
  });

  test('follow: entries written later arrive; it ends when the container is no longer running', async () => {
    const file = path.join(dir, 'c.log');
    const w = new LogWriter(file);
    w.write('stdout', Buffer.from('first\n'));
    await sleep(50);
    const { size } = await readLog(file);
    let running = true;
    const seen: LogEntry[] = [];
    const following = followLog(file, size, (e) => seen.push(e), () => running);
    w.write('stdout', Buffer.from('second\n'));
    w.write('stderr', Buffer.from('third\n'));
    await sleep(300);
    await w.close();
    running = false;
    await following;
    expect(seen.map((e) => e.data)).toEqual(['second\n', 'third\n']);
  });

  test('a torn last line (writer killed mid-write) is skipped', async () => {
    const file = path.join(dir, 'd.log');
    const w = new LogWriter(file);
    w.write('stdout', Buffer.from('ok\n'));
    await w.close();
    const { appendFileSync } = await import('node:fs');
    appendFileSync(file, '{"stream":"stdout","ti');
    expect((await readLog(file)).entries.map((e) => e.data)).toEqual(['ok\n']);
  });
});

describe('HEALTHCHECK state machine', () => {
  const check = (over: Partial<Healthcheck> = {}): Healthcheck => ({
    args: ['true'],
    test: ['CMD', 'true'],
    intervalMs: 40,
    timeoutMs: 1000,
    startPeriodMs: 0,
    startIntervalMs: 20,
    retries: 2,
    ...over,
  });

  async function drive(hc: Healthcheck, results: Array<ProbeResult | 'hang'>, until: (s: HealthState) => boolean): Promise<HealthState[]> {
    const states: HealthState[] = [];
    let i = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const m = new HealthMonitor(
      hc,
      (signal) => {
        const r = results[Math.min(i++, results.length - 1)] as ProbeResult | 'hang';
        if (r === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
        return Promise.resolve(r);
      },
      (s) => {
        states.push(s);
        if (until(s)) done();
      },
    );
    m.start();
    await Promise.race([finished, sleep(5000)]);
    m.stop();
    return states;
  }

  test('starting, then healthy on the first success', async () => {
    const states = await drive(check(), [{ exitCode: 0, output: 'fine' }], (s) => s.status === 'healthy');
    expect(states[0]?.status).toBe('starting');
    expect(states.at(-1)).toMatchObject({ status: 'healthy', failingStreak: 0, log: [{ exitCode: 0, output: 'fine' }] });
  });

  test('unhealthy after `retries` consecutive failures; a success resets the streak', async () => {
    const states = await drive(
      check(),
      [{ exitCode: 1, output: 'a' }, { exitCode: 0, output: 'b' }, { exitCode: 1, output: 'c' }, { exitCode: 1, output: 'd' }],
      (s) => s.status === 'unhealthy',
    );
    expect(states.map((s) => [s.status, s.failingStreak])).toEqual([
      ['starting', 0],
      ['starting', 1],
      ['healthy', 0],
      ['healthy', 1],
      ['unhealthy', 2],
    ]);
  });

  test('failures during the start period do not count; a probe past its timeout fails with exit -1', async () => {
    const states = await drive(check({ startPeriodMs: 150, timeoutMs: 30, retries: 1 }), [{ exitCode: 1, output: '' }, 'hang'], (s) => s.status === 'unhealthy');
    const inStart = states.filter((s) => s.status === 'starting' && s.log.length > 0);
    expect(inStart.length).toBeGreaterThan(1);
    expect(inStart.every((s) => s.failingStreak === 0)).toBe(true);
    expect(states.at(-1)?.log.at(-1)).toMatchObject({ exitCode: -1, output: 'Health check exceeded timeout (0.03s)' });
  });

  test('only the last five results are kept', async () => {
    const states = await drive(check({ retries: 100 }), [{ exitCode: 1, output: 'x' }], (s) => s.failingStreak >= 7);
    expect(states.at(-1)?.log).toHaveLength(5);
  });
});
