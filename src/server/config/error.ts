/** The one error type of configuration: thrown at boot, before anything starts. */

/** A configuration error; `variable` is the offending environment variable (or CLI option). */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}
