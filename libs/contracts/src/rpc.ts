import { z } from 'zod';

/**
 * The failure half of every request-reply answer (memory, guard, audit): the HTTP status and error body the
 * gateway passes on as is. The success half is each RPC's own.
 */
export const RpcErrorReplySchema = z.object({
  ok: z.literal(false),
  status: z.number().int(),
  code: z.string(),
  message: z.string(),
  field: z.string().optional(),
  /** A responder at capacity (503 overloaded): when a retry may get in, for the caller's Retry-After. */
  retryAfterSeconds: z.number().int().positive().optional(),
});
export type RpcErrorReply = z.infer<typeof RpcErrorReplySchema>;
