// parser/: Dockerfile text → Dockerfile → BuildGraph. Public surface.
export { parseDockerfile, INSTRUCTION_KINDS, type ParseOptions } from './ast-adapter.js';
export { planBuild } from './plan/plan-build.js';
export { formatPlatform, platformArgs } from './plan/platform.js';
export type { PlanOptions } from './plan/context.js';
export { formatPlan } from './plan-dump.js';
export { outlineBuild, type Outline } from './outline.js';
export { TsbuildError, DockerfileError, PlanError, assertNever } from './errors.js';
export type { DockerfileErrorCode, PlanErrorCode } from './errors.js';
export type { SourceRange, Position } from './source-range.js';
export type * from './instructions.js';
export type * from './graph.js';
export { GRAPH_VERSION } from './graph.js';
export { rules as lintRules, ruleList as lintRuleList, type LintRule } from './lint/rules.js';
export { ShellLexer, ShellLexError } from './shell-lexer.js';
export {
  parseDockerignore,
  createIgnoreMatcher,
  readDockerignore,
  DockerignoreError,
  type IgnoreMatcher,
} from './dockerignore.js';
export { STEP_ID_VERSION, canonicalJson } from './plan/step-id.js';
