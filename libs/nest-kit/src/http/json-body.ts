import { ErrorCodes, jsonDepthExceeds, KeelsonError } from '@keelson/contracts';
import type { FastifyInstance } from 'fastify';

/** The nesting a JSON body may have when a service sets no HTTP_MAX_JSON_DEPTH. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

export { jsonDepthExceeds };

/**
 * JSON is the only body the API takes. Fastify's own parser (with its prototype-poisoning guards) does the
 * parsing; a parse failure becomes a KeelsonError here, because Nest would otherwise turn it into an
 * anonymous 400 and the caller could not tell bad JSON from a bad field. Any other content type is 415.
 * A body nested deeper than `maxDepth` is 400 json_too_deep, checked before parsing. Trailing data after
 * the value is invalid JSON; a repeated key keeps its last value, as JSON.parse does (docs/operations.md).
 */
export function acceptJsonBodiesOnly(fastify: FastifyInstance, bodyLimit: number, maxDepth = DEFAULT_MAX_JSON_DEPTH): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    if (jsonDepthExceeds(body as string, maxDepth)) {
      done(new KeelsonError(400, ErrorCodes.jsonTooDeep, `the JSON body is nested deeper than the limit of ${maxDepth} levels`), undefined);
      return;
    }
    parseJson(request, body as string, (err: Error | null, value?: unknown) => {
      if (err) done(new KeelsonError(400, ErrorCodes.invalidJson, `the body is not valid JSON: ${err.message}`), undefined);
      else done(null, value);
    });
  });
}
