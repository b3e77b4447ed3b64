import { Controller } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { Consumers } from '@keelson/contracts';
import { JetStreamContext, exhaustedPattern } from '@keelson/nest-kit';
import { TaskProcessor } from './task-processor';

/**
 * Binds the task-worker consumer (shared by every replica: competing consumers) to the processor.
 * Resolving acknowledges the task; thrown errors are settled by the transport's runner.
 */
@Controller()
export class TasksController {
  constructor(private readonly processor: TaskProcessor) {}

  @EventPattern(Consumers.taskWorker.durable)
  async onTask(@Ctx() context: JetStreamContext): Promise<void> {
    await this.processor.handle(context.message);
  }

  /** A decision on a paused task: whichever replica takes it continues the run. */
  @EventPattern(Consumers.taskApprovals.durable)
  async onApproval(@Ctx() context: JetStreamContext): Promise<void> {
    await this.processor.handleApproval(context.message);
  }

  /** The last attempt died with its replica: the task still ends, failed, with its one result. */
  @EventPattern(exhaustedPattern(Consumers.taskWorker.durable))
  async onExhausted(@Ctx() context: JetStreamContext): Promise<void> {
    await this.processor.giveUp(context.message);
  }
}
