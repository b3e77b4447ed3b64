/** The plain Redis string calls the pins and the cache need; node-redis satisfies it. */
export interface RedisStrings {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { expiration: { type: 'EX'; value: number } }): Promise<unknown>;
  del(key: string): Promise<unknown>;
}
