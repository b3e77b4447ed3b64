import { Controller } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { Consumers } from '@keelson/contracts';
import { JetStreamContext } from '@keelson/nest-kit';
import { TurnHandler } from './turn-handler';

/**
 * Binds the session-agent consumer to the turn handler. Resolving acknowledges the turn; a DeferError,
 * PoisonMessageError or any other error is settled by the transport's runner (see @keelson/messaging).
 */
@Controller()
export class TurnsController {
  constructor(private readonly turns: TurnHandler) {}

  @EventPattern(Consumers.sessionAgent.durable)
  async onTurn(@Ctx() context: JetStreamContext): Promise<void> {
    await this.turns.handle(context.message);
  }
}
