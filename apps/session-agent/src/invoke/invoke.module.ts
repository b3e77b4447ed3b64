import { Module } from '@nestjs/common';
import { InvokeCancellations } from './invoke-cancellations';
import { InvokeResponder } from './invoke.responder';

@Module({ providers: [InvokeCancellations, InvokeResponder] })
export class InvokeModule {}
