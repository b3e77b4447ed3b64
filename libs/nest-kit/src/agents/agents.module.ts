import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { ModelProviderSettings } from '@keelson/config';
import { AgentFileRegistry, AgentRegistry, ProviderRegistry, agentRegistryFor, builtinAgents } from '@keelson/runtime';
import type { MessagingLogger } from '@keelson/messaging';
import { SERVICE_LOGGER } from '../infra/tokens';
import { providersFrom } from './model-providers';

export interface AgentsModuleOptions {
  /** A directory of agent files (AGENTS_DIR), watched and reloaded; unset serves the built-in agents. */
  agentsDir?: string | undefined;
  /** Real model providers to offer besides the offline model. */
  providers?: ModelProviderSettings;
}

/** Stops watching the agent directory when the app shuts down. */
class AgentFilesLifecycle implements OnApplicationShutdown {
  constructor(@Inject(AgentRegistry) private readonly agents: AgentRegistry) {}

  onApplicationShutdown(): void {
    if (this.agents instanceof AgentFileRegistry) this.agents.close();
  }
}

/**
 * The agents this replica can run and the model providers they run on: the agent files of `agentsDir`
 * when it is set (reloaded without a restart), else the built-in agents; the offline model plus the real
 * providers configured (see providersFrom).
 * The classes themselves are the injection tokens; SERVICE_LOGGER (from InfraModule) logs reloads.
 */
@Global()
@Module({})
export class AgentsModule {
  static forRoot(options: AgentsModuleOptions = {}): DynamicModule {
    return {
      module: AgentsModule,
      global: true,
      providers: [
        {
          provide: AgentRegistry,
          inject: [SERVICE_LOGGER],
          useFactory: (logger: MessagingLogger) => agentRegistryFor(options.agentsDir, builtinAgents, { logger }),
        },
        { provide: ProviderRegistry, useFactory: () => providersFrom(options.providers ?? {}) },
        AgentFilesLifecycle,
      ],
      exports: [AgentRegistry, ProviderRegistry],
    };
  }
}
