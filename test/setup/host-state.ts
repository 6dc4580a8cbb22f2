// vitest globalSetup: the container tests create a bridge, which (like
// docker) turns on net.ipv4.ip_forward. Put the host back as it was once
// every test has run.
import { readFileSync, writeFileSync } from 'node:fs';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

export default function setup(): () => void {
  let before: string | null = null;
  try {
    before = readFileSync(IP_FORWARD, 'utf8');
  } catch {
    // not Linux, or no procfs: nothing to restore
  }
  return () => {
    if (before === null) return;
    try {
      if (readFileSync(IP_FORWARD, 'utf8') !== before) writeFileSync(IP_FORWARD, before);
    } catch {
      // best effort: restoring host state must not fail the run
    }
  };
}
