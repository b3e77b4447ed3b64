/** Injection tokens for the clients every service shares. */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
/**
 * The connection request handlers answer on (serveRequests, the ops stats): the service's responder identity
 * when its credentials hold one, else NATS_CONNECTION itself (nats-permissions ResponderPermissions says why).
 */
export const NATS_RESPONDER_CONNECTION = Symbol('NATS_RESPONDER_CONNECTION');
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
export const JETSTREAM_PUBLISHER = Symbol('JETSTREAM_PUBLISHER');
export const SERVICE_LOGGER = Symbol('SERVICE_LOGGER');
/** The AuditSink (@keelson/audit AuditTrail) this service records audit events with. */
export const AUDIT_TRAIL = Symbol('AUDIT_TRAIL');
/** The service's name (SERVICE_NAME, else its default), as InfraModule was given it. */
export const SERVICE_NAME = Symbol('SERVICE_NAME');
/** The SettingsSecrets (@keelson/secrets) of the infrastructure: the object store's keys, Redis's password. */
export const INFRA_SECRETS = Symbol('INFRA_SECRETS');
