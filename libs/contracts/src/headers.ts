/** NATS headers Keelson reads and writes. */
export const Headers = {
  /** JetStream de-duplication id; the idempotency key of a task. */
  msgId: 'Nats-Msg-Id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  tenant: 'Keelson-Tenant',
  /** On a dead letter: why it was given up on, and where it came from. */
  deadLetterReason: 'Keelson-Dead-Letter-Reason',
  deadLetterStream: 'Keelson-Dead-Letter-Stream',
  deadLetterSubject: 'Keelson-Dead-Letter-Subject',
  deadLetterSeq: 'Keelson-Dead-Letter-Seq',
  deliveries: 'Keelson-Deliveries',
  /** The dead letter's own Nats-Msg-Id is `{stream}:{seq}`; the original one moves here. */
  deadLetterMsgId: 'Keelson-Dead-Letter-Msg-Id',
  /**
   * On a copy of a stranded message (libs/messaging stranded-messages.ts): the sequence and Nats-Msg-Id of the
   * original, which the consumer reads as the message's own, so the copy is the same task, turn or write.
   */
  requeuedFromSeq: 'Keelson-Requeued-From-Seq',
  requeuedMsgId: 'Keelson-Requeued-Msg-Id',
} as const;
