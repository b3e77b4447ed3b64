import type { ModelClassifier, Pseudonymizer } from '@keelson/guard';

export const GUARD_OPTIONS = Symbol('GUARD_OPTIONS');

export interface GuardModuleOptions {
  concurrency: number;
  policyCacheMs: number;
  classifier?: ModelClassifier;
  pseudonymizer?: Pseudonymizer;
}
