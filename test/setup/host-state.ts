// vitest globalSetup: the container tests create a bridge, which (like
// docker) turns on net.ipv4.ip_forward. Put the host back as it was once
// every test has run, and remove what test files shared in /tmp.
import { readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

export default function setup(): () => void {
  let before: string | null = null;
  try {
    before = readFileSync(IP_FORWARD, 'utf8');
  } catch {
    // not Linux, or no procfs: nothing to restore
  }
  return () => {
    // the test files' shared subnet-claim directory (test/helpers/containers.ts), empty by now
    try {
      rmdirSync(join(tmpdir(), 'tsbuild-test-subnets'));
    } catch {
      // absent or still holding a claim of a crashed run: leave it
    }
    if (before === null) return;
    try {
      if (readFileSync(IP_FORWARD, 'utf8') !== before) writeFileSync(IP_FORWARD, before);
    } catch {
      // best effort: restoring host state must not fail the run
    }
  };
}
