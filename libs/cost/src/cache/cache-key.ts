import { createHash } from 'node:crypto';
import type { CostRequest } from '../request';

/** What makes two calls the same call: who asks (tenant, agent and its version) and exactly what is sent. */
export interface CacheScope {
  tenant: string;
  agentId: string;
  /** Changes whenever the agent's definition changes (prompt, tools, model), so an edit never serves old answers. */
  agentVersion: string;
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The sha256 of everything that determines a deterministic answer: tenant, agent id and version, provider,
 * model, output cap, messages and tools (in their order: the order is part of the prompt). Sampling settings
 * are not in it because only temperature-0 requests are cached at all.
 */
export function cacheKey(scope: CacheScope, request: CostRequest): string {
  const material = canonicalJson({
    v: 1,
    tenant: scope.tenant,
    agentId: scope.agentId,
    agentVersion: scope.agentVersion,
    provider: request.provider,
    model: request.model,
    maxOutputTokens: request.maxOutputTokens,
    messages: request.messages,
    tools: request.tools ?? [],
  });
  return createHash('sha256').update(material).digest('hex');
}
