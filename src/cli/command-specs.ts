// The command and flag tables (contract: shared/DESIGN.md, docker/buildx
// meanings). Status 'planned' marks what later issues implement.
import type { CommandSpec, FlagSpec } from './command-line.js';

const P = 'planned' as const;

export const BUILD_FLAGS: FlagSpec[] = [
  { name: 'file', short: 'f', type: 'string', value: 'path', description: 'name of the Dockerfile (default: CONTEXT/Dockerfile; "-" reads it from stdin)' },
  { name: 'tag', short: 't', type: 'string', multiple: true, value: 'ref', description: 'name and optionally a tag (name:tag)' },
  { name: 'build-arg', type: 'string', multiple: true, value: 'K=V', description: 'set a build-time variable (NAME alone takes it from the environment)' },
  { name: 'target', type: 'string', value: 'stage', description: 'set the target build stage to build' },
  { name: 'platform', type: 'string', value: 'os/arch', description: 'set the target platform (default: the host platform)' },
  { name: 'call', type: 'string', value: 'method', description: 'what to do instead of building: check, outline, targets (default: build); add ,format=json for JSON' },
  { name: 'list-rules', type: 'boolean', description: 'list the Dockerfile check rules and exit' },
  { name: 'no-cache', type: 'boolean', description: 'do not use the cache when building the image' },
  { name: 'no-cache-filter', type: 'string', multiple: true, value: 'stage', description: 'do not cache the named stages' },
  { name: 'push', type: 'boolean', description: 'push the result to its registry (shorthand for --output type=image,push=true)' },
  { name: 'output', short: 'o', type: 'string', multiple: true, value: 'spec', description: 'output destination: type=oci|docker|local|tar|image,dest=PATH' },
  { name: 'iidfile', type: 'string', value: 'path', description: 'write the image ID to the file' },
  { name: 'metadata-file', type: 'string', value: 'path', description: 'write build result metadata to the file' },
  { name: 'progress', type: 'string', value: 'type', description: 'progress output: auto, tty, plain, json, quiet', choices: ['auto', 'tty', 'plain', 'json', 'quiet'] },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'suppress the build output and print the image ID on success' },
  { name: 'network', type: 'string', value: 'mode', description: 'networking mode for RUN: default, none, host', choices: ['default', 'none', 'host'] },
  { name: 'allow', type: 'string', multiple: true, value: 'entitlement', description: 'allow extra privileged entitlement: security.insecure, network.host', choices: ['security.insecure', 'network.host'] },
  { name: 'memory', type: 'string', value: 'bytes', description: 'memory limit for each RUN (e.g. 512m)' },
  { name: 'cpus', type: 'string', value: 'n', description: 'CPU quota for each RUN (e.g. 1.5)' },
  { name: 'pids-limit', type: 'string', value: 'n', description: 'process limit for each RUN' },
  { name: 'secret', type: 'string', multiple: true, value: 'spec', description: 'secret to expose to the build: id=x,src=path or id=x,env=VAR' },
  { name: 'ssh', type: 'string', multiple: true, value: 'spec', description: 'SSH agent socket or keys to expose to the build: default|id[=socket]' },
  { name: 'cache-to', type: 'string', multiple: true, value: 'spec', description: 'cache export destination: type=registry,ref=…|type=local,dest=…' },
  { name: 'cache-from', type: 'string', multiple: true, value: 'spec', description: 'cache import source: type=registry,ref=…|type=local,src=…' },
  { name: 'jobs', type: 'string', value: 'n', description: 'steps run in parallel (default: number of CPUs)' },
];

const RUN_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', type: 'boolean', description: 'run in the background and print the container ID' },
  { name: 'rm', type: 'boolean', description: 'remove the container when it exits' },
  { name: 'name', type: 'string', value: 'name', description: 'assign a name to the container' },
  { name: 'publish', short: 'p', type: 'string', multiple: true, value: '[ip:]host:ctr[/udp]', description: "publish a container's port on the host" },
  { name: 'volume', short: 'v', type: 'string', multiple: true, value: 'src:dst[:ro]', description: 'bind mount a host path or named volume' },
  { name: 'env', short: 'e', type: 'string', multiple: true, value: 'K=V', description: 'set an environment variable' },
  { name: 'env-file', type: 'string', multiple: true, value: 'path', description: 'read environment variables from a file' },
  { name: 'workdir', short: 'w', type: 'string', value: 'dir', description: 'working directory inside the container' },
  { name: 'user', short: 'u', type: 'string', value: 'user[:group]', description: 'user to run as' },
  { name: 'entrypoint', type: 'string', value: 'cmd', description: "override the image's entrypoint" },
  { name: 'hostname', type: 'string', value: 'name', description: 'container host name' },
  { name: 'memory', short: 'm', type: 'string', value: 'bytes', description: 'memory limit' },
  { name: 'cpus', type: 'string', value: 'n', description: 'number of CPUs' },
  { name: 'pids-limit', type: 'string', value: 'n', description: 'process limit' },
  { name: 'network', type: 'string', value: 'mode', description: 'network: default, none, host', choices: ['default', 'none', 'host'] },
  { name: 'read-only', type: 'boolean', description: "mount the container's root filesystem read-only" },
  { name: 'init', type: 'boolean', description: 'run an init inside the container that forwards signals and reaps processes' },
  { name: 'interactive', short: 'i', type: 'boolean', description: 'keep stdin open' },
  { name: 'tty', short: 't', type: 'boolean', description: 'allocate a pseudo-TTY' },
  { name: 'platform', type: 'string', value: 'os/arch', description: 'platform of the image to pull' },
];

function simple(name: string, usage: string, summary: string, flags: FlagSpec[], min: number, max: number | null): CommandSpec {
  return { name, usage, summary, flags, positionals: { min, max }, status: P };
}

export const COMMANDS: CommandSpec[] = [
  { name: 'build', usage: '[OPTIONS] CONTEXT', summary: 'Build an image from a Dockerfile', flags: BUILD_FLAGS, positionals: { min: 1, max: 1 } },
  { name: 'run', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create and run a new container from an image', flags: RUN_FLAGS, positionals: { min: 1, max: null }, stopAtPositional: true },
  { ...simple('ps', '[OPTIONS]', 'List containers', [
    { name: 'all', short: 'a', type: 'boolean', description: 'show all containers (default shows just running)' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'only display container IDs' },
  ], 0, 0), status: 'ok' },
  { ...simple('logs', '[OPTIONS] CONTAINER', 'Fetch the logs of a container', [
    { name: 'follow', short: 'f', type: 'boolean', description: 'follow log output' },
    { name: 'tail', type: 'string', value: 'n', description: 'number of lines to show from the end of the logs' },
  ], 1, 1), status: 'ok' },
  { ...simple('stop', '[OPTIONS] CONTAINER...', 'Stop one or more running containers', [
    { name: 'time', short: 't', type: 'string', value: 'seconds', description: 'seconds to wait before killing the container' },
  ], 1, null), status: 'ok' },
  { ...simple('kill', '[OPTIONS] CONTAINER...', 'Kill one or more running containers', [
    { name: 'signal', short: 's', type: 'string', value: 'signal', description: 'signal to send (default KILL)' },
  ], 1, null), status: 'ok' },
  { ...simple('rm', '[OPTIONS] CONTAINER...', 'Remove one or more containers', [
    { name: 'force', short: 'f', type: 'boolean', description: 'force the removal of a running container' },
    { name: 'volumes', short: 'v', type: 'boolean', description: 'remove anonymous volumes associated with the container' },
  ], 1, null), status: 'ok' },
  { ...simple('exec', '[OPTIONS] CONTAINER COMMAND [ARG...]', 'Execute a command in a running container', [
    { name: 'interactive', short: 'i', type: 'boolean', description: 'keep stdin open' },
    { name: 'tty', short: 't', type: 'boolean', description: 'allocate a pseudo-TTY' },
    { name: 'env', short: 'e', type: 'string', multiple: true, value: 'K=V', description: 'set an environment variable' },
    { name: 'user', short: 'u', type: 'string', value: 'user[:group]', description: 'user to run as' },
    { name: 'workdir', short: 'w', type: 'string', value: 'dir', description: 'working directory inside the container' },
  ], 2, null), stopAtPositional: true, status: 'ok' },
  { ...simple('images', '[OPTIONS]', 'List images', [{ name: 'quiet', short: 'q', type: 'boolean', description: 'only show image IDs' }], 0, 0), status: 'ok' },
  { ...simple('rmi', '[OPTIONS] IMAGE...', 'Remove one or more images', [{ name: 'force', short: 'f', type: 'boolean', description: 'force removal' }], 1, null), status: 'ok' },
  { ...simple('tag', 'SOURCE TARGET', 'Create a tag TARGET that refers to SOURCE', [], 2, 2), status: 'ok' },
  { ...simple('pull', '[OPTIONS] NAME[:TAG|@DIGEST]', 'Download an image from a registry', [
    { name: 'platform', type: 'string', value: 'os/arch', description: 'platform to pull' },
  ], 1, 1), status: 'ok' },
  { ...simple('push', 'NAME[:TAG]', 'Upload an image to a registry', [], 1, 1), status: 'ok' },
  { ...simple('inspect', 'NAME|ID...', 'Return low-level information on images and containers', [], 1, null), status: 'ok' },
  { ...simple('prune', '[OPTIONS]', 'Remove unused data: unreferenced blobs and cache records', [
    { name: 'all', short: 'a', type: 'boolean', description: 'also remove all build cache' },
  ], 0, 0), status: 'ok' },
  { ...simple('save', '[OPTIONS] IMAGE...', 'Save images to a tar archive (docker or OCI format)', [
    { name: 'output', short: 'o', type: 'string', value: 'file', description: 'write to a file instead of stdout' },
    { name: 'format', type: 'string', value: 'fmt', description: 'docker or oci', choices: ['docker', 'oci'] },
  ], 1, null), status: 'ok' },
  { ...simple('load', '[OPTIONS]', 'Load images from a tar archive', [
    { name: 'input', short: 'i', type: 'string', value: 'file', description: 'read from a file instead of stdin' },
  ], 0, 0), status: 'ok' },
  { ...simple('login', '[OPTIONS] SERVER', 'Log in to a registry', [
    { name: 'username', short: 'u', type: 'string', value: 'name', description: 'user name' },
    { name: 'password', short: 'p', type: 'string', value: 'secret', description: 'password' },
    { name: 'password-stdin', type: 'boolean', description: 'read the password from stdin' },
  ], 1, 1), status: 'ok' },
  { ...simple('logout', 'SERVER', 'Log out from a registry', [], 1, 1), status: 'ok' },
  { ...simple('volume', 'ls|rm [NAME...]', 'Manage named volumes', [], 1, null), status: 'ok' },
];
