// The production check alone: the index of @keelson/secrets also loads its Vault client.
import { assertNoSecretsInEnv } from '@keelson/secrets/dist/env-check';
import { awsSecretFiles } from './aws-secrets';
import { loadFunctionConfig } from './config';
import { buildFunctionRuntime, type FunctionRuntime } from './function-deps';
import { errorResponse, type FunctionRequest, type FunctionResponse } from './http';
import { createInvokeHandler, type InvokeHandler } from './invoke-handler';
import { jsonLineLogger } from './logger';

let runtime: Promise<{ runtime: FunctionRuntime; handle: InvokeHandler }> | undefined;

/**
 * The portable entry: `{method, path, headers, body}` in, `{status, headers, body}` out, no platform types.
 * The first call reads the settings and builds what they switch on (the cold start); later calls in the
 * same process reuse it. A setting that is wrong fails every call with 500, and the log names the setting.
 */
export async function handleInvoke(request: FunctionRequest): Promise<FunctionResponse> {
  const starting = prepare();
  let handle: InvokeHandler;
  try {
    ({ handle } = await starting);
  } catch (err) {
    if (runtime === starting) runtime = undefined; // the next call tries again (a secret or Redis may be back)
    process.stdout.write(`${JSON.stringify({ level: 'error', service: 'stateless-function', message: 'cannot start', error: (err as Error).message })}\n`);
    return errorResponse(err, request.requestId); // 500 internal_error: the cause is in the log, not the answer
  }
  return handle(request);
}

/** Lambda's own credentials for the function's role: in every function's environment, not Keelson's settings. */
const LAMBDA_CREDENTIALS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

/**
 * The services' production check (no secret in the environment; throws in production, else returns
 * warnings), less what Lambda puts there itself: the role's credentials, the secrets extension's own
 * settings (`PARAMETERS_SECRETS_EXTENSION_*`), and the `*_SECRET_ID` pointers, which name a secret without
 * holding it.
 */
export function checkEnvironment(env: Record<string, string | undefined>): string[] {
  const settings = Object.fromEntries(
    Object.entries(env).filter(([name]) => !LAMBDA_CREDENTIALS.has(name) && !name.endsWith('_SECRET_ID') && !name.startsWith('PARAMETERS_SECRETS_EXTENSION_')),
  );
  return assertNoSecretsInEnv(settings);
}

/**
 * Starts building the runtime now, without waiting: Lambda's adapter calls it while the module loads (the
 * init phase, before the first event). A failure is not thrown here; the next call answers it.
 */
export function prepare(): Promise<{ runtime: FunctionRuntime; handle: InvokeHandler }> {
  if (runtime) return runtime;
  const starting = start();
  starting.catch(() => undefined);
  runtime = starting;
  return starting;
}

async function start(): Promise<{ runtime: FunctionRuntime; handle: InvokeHandler }> {
  const warnings = checkEnvironment(process.env);
  const config = loadFunctionConfig({ ...process.env, ...(await awsSecretFiles(process.env)) });
  const logger = jsonLineLogger(config.LOG_LEVEL);
  for (const warning of warnings) logger.warn(warning);
  const built = await buildFunctionRuntime(config, logger);
  logger.info('function ready', built.features);
  return { runtime: built, handle: createInvokeHandler(built.deps) };
}

/** Closes Redis, drains NATS and stops the secrets refresh; the next call starts again. Lambda's SIGTERM calls it. */
export async function shutdown(): Promise<void> {
  const current = runtime;
  runtime = undefined;
  if (current) await (await current.catch(() => undefined))?.runtime.close();
}

process.once('SIGTERM', () => void shutdown());
