// The catalogue of Dockerfile checks, modelled on BuildKit's linter rules.
// Each rule formats its own message so messages are typed; `--call=check`
// lists violations, `tsbuild build --list-rules` prints this table.

import { goQuote } from '../plan/go-format.js';

export interface LintRule<A extends unknown[]> {
  name: string;
  description: string;
  url: string;
  format(...args: A): string;
}

const DOCS = 'https://docs.docker.com/go/dockerfile/rule/';
const didYouMean = (suggest: string | undefined, prefix = ''): string => (suggest ? ` (did you mean ${prefix}${suggest}?)` : '');

function rule<A extends unknown[]>(name: string, description: string, format: (...args: A) => string): LintRule<A> {
  const slug = name.replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  return { name, description, url: DOCS + slug + '/', format };
}

export const rules = {
  StageNameCasing: rule('StageNameCasing', 'Stage names should be lowercase', (name: string) => `Stage name '${name}' should be lowercase`),
  FromAsCasing: rule('FromAsCasing', "The 'as' keyword should match the case of the 'from' keyword", (from: string, as: string) =>
    `'${as}' and '${from}' keywords' casing do not match`),
  NoEmptyContinuation: rule('NoEmptyContinuation', 'Empty continuation lines will become errors in a future release', () =>
    'Empty continuation line'),
  ConsistentInstructionCasing: rule('ConsistentInstructionCasing', 'All commands within the Dockerfile should use the same casing (either upper or lower)',
    (keyword: string, expected: string) => `Command '${keyword}' should match the case of the command majority (${expected})`),
  DuplicateStageName: rule('DuplicateStageName', 'Stage names should be unique', (name: string) => `Duplicate stage name ${goQuote(name)}, stage names should be unique`),
  ReservedStageName: rule('ReservedStageName', 'Reserved words should not be used as stage names', (name: string) =>
    `Stage name should not use the same name as reserved stage ${goQuote(name)}`),
  JSONArgsRecommended: rule('JSONArgsRecommended', 'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
    (instruction: string) => `JSON arguments recommended for ${instruction} to prevent unintended behavior related to OS signals`),
  MaintainerDeprecated: rule('MaintainerDeprecated', 'The MAINTAINER instruction is deprecated, use a label instead to define an image author', () =>
    'Maintainer instruction is deprecated in favor of using label'),
  UndefinedArgInFrom: rule('UndefinedArgInFrom', 'FROM command must use declared ARGs', (name: string, suggest?: string) =>
    `FROM argument '${name}' is not declared${didYouMean(suggest)}`),
  WorkdirRelativePath: rule('WorkdirRelativePath', 'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
    (path: string) => `Relative workdir ${goQuote(path)} can have unexpected results if the base image changes`),
  UndefinedVar: rule('UndefinedVar', 'Variables should be defined before their use', (name: string, suggest?: string) =>
    `Usage of undefined variable '$${name}'${didYouMean(suggest, '$')}`),
  MultipleInstructionsDisallowed: rule('MultipleInstructionsDisallowed', 'Multiple instructions of the same type should not be used in the same stage',
    (instruction: string) => `Multiple ${instruction} instructions should not be used in the same stage because only the last one will be used`),
  LegacyKeyValueFormat: rule('LegacyKeyValueFormat', 'Legacy key/value format with whitespace separator should not be used',
    (instruction: string) => `"${instruction} key=value" should be used instead of legacy "${instruction} key value" format`),
  InvalidDefaultArgInFrom: rule('InvalidDefaultArgInFrom', 'Default value for global ARG results in an empty or invalid base image name',
    (image: string) => `Default value for ARG ${image} results in empty or invalid base image name`),
  SecretsUsedInArgOrEnv: rule('SecretsUsedInArgOrEnv', 'Sensitive data should not be used in the ARG or ENV commands',
    (instruction: string, name: string) => `Do not use ARG or ENV instructions for sensitive data (${instruction} ${goQuote(name)})`),
  FromPlatformFlagConstDisallowed: rule('FromPlatformFlagConstDisallowed', 'FROM --platform flag should not use a constant value',
    (platform: string) => `FROM --platform flag should not use constant value ${goQuote(platform)}`),
  RedundantTargetPlatform: rule('RedundantTargetPlatform', 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
    (platformVar: string) => `Setting platform to predefined ${platformVar} in FROM is redundant as this is the default behavior`),
  ExposeProtoCasing: rule('ExposeProtoCasing', 'Protocol in EXPOSE instruction should be lowercase', (port: string) =>
    `Defined protocol '${port}' in EXPOSE instruction should be lowercase`),
  ExposeInvalidFormat: rule('ExposeInvalidFormat', 'IP address and host-port mapping should not be used in EXPOSE instruction',
    (port: string) => `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`),
} as const;

export type RuleName = keyof typeof rules;

export const ruleList: readonly LintRule<never[]>[] = Object.values(rules) as unknown as LintRule<never[]>[];
