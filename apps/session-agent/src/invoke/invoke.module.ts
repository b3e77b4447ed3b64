import { Module, type DynamicModule } from '@nestjs/common';
import { rolloutControlProviders } from '@keelson/nest-kit';
import { InvokeCancellations } from './invoke-cancellations';
import { INVOKE_SERVING, InvokeResponder, type InvokeServing } from './invoke.responder';

@Module({})
export class InvokeModule {
  static forRoot(serving: InvokeServing): DynamicModule {
    return {
      module: InvokeModule,
      providers: [{ provide: INVOKE_SERVING, useValue: serving }, InvokeCancellations, InvokeResponder, ...rolloutControlProviders],
    };
  }
}
