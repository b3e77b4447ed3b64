import { Module } from '@nestjs/common';
import { InvokeResponder } from './invoke.responder';

@Module({ providers: [InvokeResponder] })
export class InvokeModule {}
