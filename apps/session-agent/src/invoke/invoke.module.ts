import { Module } from '@nestjs/common';
import { InvokeCancellations } from './invoke-cancellations';
import { InvokeResponder } from './invoke.responder';
import { RolloutControlLifecycle, rolloutControlProvider } from '../sessions/rollout-control.provider';

@Module({ providers: [InvokeCancellations, InvokeResponder, rolloutControlProvider, RolloutControlLifecycle] })
export class InvokeModule {}
