import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Powertools logger and metrics for the Lambda handlers, built once per process.
 *
 * They speak only inside a Lambda execution environment (`AWS_LAMBDA_FUNCTION_NAME` is set): on
 * AWS, JSON log lines and EMF metrics go to CloudWatch; in the local Lambda runtime the same
 * lines go to the function's log file. Anywhere else (the API app inside `kasync up`, tests
 * that load a handler in-process) the logger is silent and metrics are dropped, so nothing
 * reaches a terminal.
 */
export const inLambda = Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);

export { MetricUnit };

export const NAMESPACE = 'kasync';

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, ...(inLambda ? {} : { logLevel: 'SILENT' }) });
}

export function createMetrics(serviceName: string, logger: Logger): Metrics {
  // Metrics warns through the logger it is given: a silent one outside Lambda.
  return new Metrics({ namespace: NAMESPACE, serviceName, logger });
}

/** Writes the stored metrics (one EMF line) in Lambda, drops them elsewhere; never warns when empty. */
export function flushMetrics(metrics: Metrics): void {
  if (!metrics.hasStoredMetrics()) return;
  if (inLambda) metrics.publishStoredMetrics();
  else metrics.clearMetrics();
}

/** The part of the Lambda context the logger reads; the local runtime and tests may give less. */
export interface LambdaContextFields {
  readonly functionName?: string;
  readonly functionVersion?: string;
  readonly invokedFunctionArn?: string;
  readonly memoryLimitInMB?: string;
  readonly awsRequestId?: string;
}

export function addLambdaContext(logger: Logger, context: LambdaContextFields | undefined): void {
  if (context) logger.addContext(context as Parameters<Logger['addContext']>[0]);
}
