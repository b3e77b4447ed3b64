import { Module } from '@nestjs/common';
import { InvokeCancellations } from './invoke-cancellations';
import { InvokeResponder } from './invoke.responder';
import { rolloutControlProviders } from '@keelson/nest-kit';

@Module({ providers: [InvokeCancellations, InvokeResponder, ...rolloutControlProviders] })
export class InvokeModule {}
