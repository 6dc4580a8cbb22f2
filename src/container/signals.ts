// Signal names as docker takes them: "TERM", "SIGTERM", "15", "sigkill".
import { constants } from 'node:os';
import { ContainerError } from './errors.js';

const BY_NUMBER = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

/** The canonical name (SIGTERM) of a signal given by name or number. */
export function parseSignal(text: string): NodeJS.Signals {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const name = BY_NUMBER.get(Number(t));
    if (name !== undefined) return name;
  } else {
    const name = (t.startsWith('SIG') ? t : `SIG${t}`) as NodeJS.Signals;
    if (name in constants.signals) return name;
  }
  throw new ContainerError('TSB_CONTAINER_BAD_SIGNAL', `invalid signal "${text}"`);
}

export function signalNumber(sig: NodeJS.Signals): number {
  return constants.signals[sig];
}
