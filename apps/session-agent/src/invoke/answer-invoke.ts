// The stateless path is framework-free and shared with the serverless function (apps/stateless-function):
// it lives in @keelson/stateless; this service answers it over NATS (invoke.responder.ts).
export { INVOKE_EVENT_SOURCE, answerInvoke, type InvokeDeps } from '@keelson/stateless';
