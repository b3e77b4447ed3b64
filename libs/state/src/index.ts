export * from './redis-port';
export * from './session-store';
export * from './task-store';
export * from './approval-store';
export * from './rollout-store';
