import { Global, Module } from '@nestjs/common';
import { AgentRegistry, OfflineModel, ProviderRegistry, builtinAgents } from '@keelson/runtime';

/**
 * The agents this replica can run and the model providers they run on. Only the built-in agents and the
 * offline development model exist so far; real providers and agent files come with the agent runtime issue.
 * The classes themselves are the injection tokens.
 */
@Global()
@Module({
  providers: [
    { provide: AgentRegistry, useFactory: () => new AgentRegistry(builtinAgents()) },
    { provide: ProviderRegistry, useFactory: () => new ProviderRegistry([new OfflineModel()]) },
  ],
  exports: [AgentRegistry, ProviderRegistry],
})
export class AgentsModule {}
