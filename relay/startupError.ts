/**
 * Why the relay cannot start, for the person starting it to fix: a flag, a file, a port, Redis, the
 * CA. main.ts prints the message alone and exits 2. Any other error at start-up is a bug, and is
 * printed with its stack.
 */
export class StartupError extends Error {
  override name = 'StartupError';

  constructor(
    message: string,
    /** The system error's code, when there was one (EADDRINUSE: the embedded relay then takes a free port). */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A flag or PORTHOLE_* variable that has to change (config.ts). */
export class ConfigError extends StartupError {
  override name = 'ConfigError';
}
