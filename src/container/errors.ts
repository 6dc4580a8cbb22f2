// Container errors. Codes starting with TSB_RUN_ mean "the container could
// not be created or started" and exit 125 like docker (exitCodeFor in
// src/errors.ts); the others are ordinary command failures (exit 1).
import { TsbuildError } from '../errors.js';

export type ContainerErrorCode =
  /** The image is neither local nor pullable. */
  | 'TSB_RUN_IMAGE_NOT_FOUND'
  /** --name is taken by another container. */
  | 'TSB_RUN_NAME_IN_USE'
  /** --name is not [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
  | 'TSB_RUN_INVALID_NAME'
  /** A -p value that does not parse or names a bad port. */
  | 'TSB_RUN_INVALID_PORT'
  /** A published host port is already bound. */
  | 'TSB_RUN_PORT_IN_USE'
  /** A -v value that does not parse, or a bind source that cannot be used. */
  | 'TSB_RUN_INVALID_VOLUME'
  /** Other bad run options: relative -w, unreadable --env-file, -p with --network none/host. */
  | 'TSB_RUN_INVALID_OPTION'
  /** Neither the image nor the command line gives a command. */
  | 'TSB_RUN_NO_COMMAND'
  /** -u names a user or group missing from the image's /etc/passwd or /etc/group. */
  | 'TSB_RUN_UNKNOWN_USER'
  /** The entry point (or exec command) is missing or not executable. */
  | 'TSB_RUN_EXEC'
  /** The sandbox could not be set up (the message names the stage). */
  | 'TSB_RUN_SANDBOX'
  /** The container network could not be set up (bridge, netns, veth, addresses, NAT). */
  | 'TSB_RUN_NETWORK'
  /** No container has that name or ID (prefix). */
  | 'TSB_CONTAINER_NOT_FOUND'
  /** An ID prefix matches several containers. */
  | 'TSB_CONTAINER_AMBIGUOUS'
  /** rm of a running container without -f. */
  | 'TSB_CONTAINER_RUNNING'
  /** exec or kill of a container that is not running. */
  | 'TSB_CONTAINER_NOT_RUNNING'
  /** A container's config.json or state.json is unreadable or malformed. */
  | 'TSB_CONTAINER_CORRUPT'
  /** A signal name or number that does not exist. */
  | 'TSB_CONTAINER_BAD_SIGNAL'
  /** volume rm of a volume that does not exist. */
  | 'TSB_VOLUME_NOT_FOUND'
  /** volume rm of a volume a container (running or not) mounts. */
  | 'TSB_VOLUME_IN_USE';

export class ContainerError extends TsbuildError {
  declare readonly code: ContainerErrorCode;
  constructor(code: ContainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function isContainerError(err: unknown, code?: ContainerErrorCode): err is ContainerError {
  return err instanceof ContainerError && (code === undefined || err.code === code);
}
