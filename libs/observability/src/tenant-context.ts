import { AsyncLocalStorage } from 'node:async_hooks';

// The tenant follows the async call chain, so a log line deep inside a handler knows whose request it
// serves without every function passing it along.
const storage = new AsyncLocalStorage<string>();

/** Runs `fn` with `tenant` as the current tenant for everything it awaits or schedules. */
export function runWithTenant<T>(tenant: string, fn: () => T): T {
  return storage.run(tenant, fn);
}

export function currentTenant(): string | undefined {
  return storage.getStore();
}
