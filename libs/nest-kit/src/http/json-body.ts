import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import type { FastifyInstance } from 'fastify';

/**
 * JSON is the only body the API takes. Fastify's own parser (with its prototype-poisoning guards) does the
 * parsing; a parse failure becomes a KeelsonError here, because Nest would otherwise turn it into an
 * anonymous 400 and the caller could not tell bad JSON from a bad field. Any other content type is 415.
 */
export function acceptJsonBodiesOnly(fastify: FastifyInstance, bodyLimit: number): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, body as string, (err: Error | null, value?: unknown) => {
      if (err) done(new KeelsonError(400, ErrorCodes.invalidJson, `the body is not valid JSON: ${err.message}`), undefined);
      else done(null, value);
    });
  });
}
