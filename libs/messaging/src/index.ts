export { connectNats, type ConnectNatsOptions } from './connection';
export {
  allStreams,
  consumerConfigFor,
  MAX_DELIVER_HEADROOM,
  provisionConsumer,
  provisionStreams,
  streamConfigFor,
} from './provisioning';
export { JetStreamPublisher, type PublishAck, type PublishOptions } from './publisher';
export { ConsumerRunner, type ConsumerOutcome, type ConsumerRunnerMetrics, type ConsumerRunnerOptions } from './consumer-runner';
export type { InboundMessage, MessageHandler } from './inbound-message';
export { DEAD_LETTER_ORIGINAL_MSG_ID } from './dead-letter';
export {
  errorReply,
  request,
  SERVE_DEFAULTS,
  serveRequests,
  type ErrorReply,
  type RequestOptions,
  type ServeRequestsMetrics,
  type ServeRequestsOptions,
} from './request-reply';
export { RequestQueue, type RequestQueueOptions, type ShedReason } from './request-queue';
export {
  DeferError,
  InvalidJsonError,
  NoRespondersError,
  PoisonMessageError,
  ProvisioningError,
  PublishError,
  RequestTimeoutError,
  type PublishFailure,
} from './errors';
export { decodeJson, encodeJson } from './codec';
export { silentLogger, stderrLogger, type MessagingLogger } from './logger';
export { extractTraceContext, injectTraceContext } from './tracing';
export { subjectTemplate } from './subject-template';
export { hasResponderIdentity, natsAuthOptions, natsCredentialsFrom, type NatsCredentials, type NatsCredentialSettings, type NatsIdentityRole } from './nats-credentials';
export { generateNatsAuth, natsServerAuthConfig, type GenerateNatsAuthOptions, type NatsAuthFiles, type NatsIdentity } from './nats-auth-config';
export { StrandedMessages } from './stranded-messages';
