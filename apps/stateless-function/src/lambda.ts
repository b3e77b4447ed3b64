import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { FunctionRequest, FunctionResponse } from './http';
import { handleInvoke, prepare } from './main';

/**
 * The AWS Lambda adapter: an API Gateway HTTP API or Function URL event (payload format 2.0) to the portable
 * handler and back. Nothing else of the function knows it runs on Lambda. Handler setting: `lambda.handler`.
 */
// Inside Lambda, the settings are read and the runtime built during the init phase, before the first event
// arrives (and, with provisioned concurrency or SnapStart-like pre-warming, before any caller waits).
if (process.env['AWS_LAMBDA_FUNCTION_NAME']) void prepare();

export async function handler(event: APIGatewayProxyEventV2, context?: Pick<Context, 'awsRequestId'>): Promise<APIGatewayProxyStructuredResultV2> {
  return toLambdaResult(await handleInvoke(toFunctionRequest(event, context)));
}

export function toFunctionRequest(event: APIGatewayProxyEventV2, context?: Pick<Context, 'awsRequestId'>): FunctionRequest {
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    headers: event.headers ?? {},
    body,
    requestId: context?.awsRequestId ?? event.requestContext.requestId,
  };
}

export function toLambdaResult(response: FunctionResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: response.status, headers: response.headers, body: response.body, isBase64Encoded: false };
}
