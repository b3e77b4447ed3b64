/**
 * The slice of a Redis client the stores need. node-redis satisfies it; keeping it this narrow is what
 * lets each store state its round trips exactly (one EVALSHA per operation).
 */
export interface RedisScripting {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  scriptLoad(script: string): Promise<string>;
}

/** A Lua script run by SHA, loaded on first use and again after a Redis restart flushed the cache. */
export class LuaScript {
  private sha?: string;

  constructor(private readonly source: string) {}

  async run(redis: RedisScripting, keys: string[], args: (string | number)[]): Promise<unknown> {
    const options = { keys, arguments: args.map(String) };
    if (!this.sha) this.sha = await redis.scriptLoad(this.source);
    try {
      return await redis.evalSha(this.sha, options);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      this.sha = await redis.scriptLoad(this.source);
      return redis.evalSha(this.sha, options);
    }
  }
}
