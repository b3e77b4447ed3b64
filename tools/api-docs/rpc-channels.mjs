// The AsyncAPI shape every core-NATS request-reply RPC shares: a request channel, its reply inbox, and the
// operation of the service that answers it as a queue group. Used by the guard and memory groups.

/**
 * `${key}Rpc` and `${key}RpcReply`. `names`: the message names `{ request, reply }`; `refs`: the component
 * schemas `{ request, reply }`; `replyShape`: the success reply in words.
 * @param {{ ref: Function, message: Function, traceHeaders: object }} h helpers from generate.mjs
 */
export function rpcChannelPair(h, { key, address, title, description, names, refs, replyShape }) {
  return {
    [`${key}Rpc`]: {
      address,
      title: `${title} (internal, core NATS request-reply)`,
      description,
      messages: { [`${key}Request`]: h.message(names.request, title, h.ref(refs.request), { headers: h.traceHeaders }) },
    },
    [`${key}RpcReply`]: {
      address: null,
      title: `${title} reply`,
      description: `The request's reply inbox: ${replyShape} or \`{ok: false, status, code, message, field?}\`.`,
      messages: { [`${key}Reply`]: h.message(names.reply, `${title} reply`, h.ref(refs.reply)) },
    },
  };
}

/** The operation answering `${key}Rpc` in queue group `queue`, replying on `${key}RpcReply`. */
export function rpcAnswer(queue) {
  const bindings = { nats: { queue, bindingVersion: '0.1.0' } };
  return (key, title) => ({
    action: 'receive',
    channel: { $ref: `#/channels/${key}Rpc` },
    title,
    messages: [{ $ref: `#/channels/${key}Rpc/messages/${key}Request` }],
    bindings,
    reply: { channel: { $ref: `#/channels/${key}RpcReply` }, messages: [{ $ref: `#/channels/${key}RpcReply/messages/${key}Reply` }] },
  });
}
