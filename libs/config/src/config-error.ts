/** One environment variable that failed validation: its name and why, never a secret's value. */
export interface ConfigIssue {
  name: string;
  reason: string;
}

/** Thrown at start-up when the environment does not satisfy a service's schema; lists every bad variable. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.name}: ${i.reason}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
