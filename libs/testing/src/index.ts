export { freePort } from './free-port';
export { startNats, type NatsServerHandle, type StartNatsOptions } from './nats-server';
export { startRedis, type RedisServerHandle, type StartRedisOptions } from './redis-server';
export type { ServerHandle } from './server-handle';
export { waitFor, sleep, type WaitForOptions } from './wait-for';
export { startApp, type AppHandle, type StartAppOptions } from './app';
export { findRepoRoot } from './repo-root';
export * from './fake-anthropic';
export * from './fake-openai';
