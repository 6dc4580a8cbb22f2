// The flag-table parser: planned flags are rejected, never ignored; choices
// are checked; positional counts are enforced.
import { describe, expect, test } from 'vitest';
import { formatCommandHelp, parseCommandLine, type CommandSpec } from '../../src/cli/command-line.js';

const spec: CommandSpec = {
  name: 'demo',
  usage: '[OPTIONS] ARG',
  summary: 'demo command',
  positionals: { min: 1, max: 1 },
  flags: [
    { name: 'ready', type: 'string', description: 'an implemented flag' },
    { name: 'later', type: 'boolean', description: 'a flag whose feature has not landed', status: 'planned' },
    { name: 'mode', type: 'string', description: 'a choice', choices: ['a', 'b'] },
    { name: 'many', short: 'm', type: 'string', multiple: true, description: 'repeatable' },
  ],
};

describe('parseCommandLine', () => {
  test('a planned flag is rejected with TSB_CLI_NOT_IMPLEMENTED naming it', () => {
    expect(() => parseCommandLine(spec, ['--later', 'x'])).toThrow(expect.objectContaining({ code: 'TSB_CLI_NOT_IMPLEMENTED', message: expect.stringContaining('--later') }));
  });
  test('a planned flag is still listed in help', () => {
    expect(formatCommandHelp(spec)).toMatch(/--later\s+a flag whose feature has not landed \(not implemented yet\)/);
  });
  test('values, repeats and choices', () => {
    const r = parseCommandLine(spec, ['--ready', 'v', '-m', '1', '--many=2', '--mode', 'b', 'pos']);
    expect(r.values).toMatchObject({ ready: 'v', many: ['1', '2'], mode: 'b' });
    expect(r.positionals).toEqual(['pos']);
    expect(() => parseCommandLine(spec, ['--mode', 'c', 'pos'])).toThrow(expect.objectContaining({ code: 'TSB_CLI_USAGE' }));
  });
  test('unknown flags and positional counts are usage errors', () => {
    expect(() => parseCommandLine(spec, ['--nope', 'pos'])).toThrow(expect.objectContaining({ code: 'TSB_CLI_USAGE' }));
    expect(() => parseCommandLine(spec, [])).toThrow(expect.objectContaining({ code: 'TSB_CLI_USAGE' }));
    expect(() => parseCommandLine(spec, ['a', 'b'])).toThrow(expect.objectContaining({ code: 'TSB_CLI_USAGE' }));
  });
});
