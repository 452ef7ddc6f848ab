import { z } from 'zod';
import { jobSpecSchema } from '../../engine/spec';
import { MAX_UPLOAD_BYTES } from './limits';
import {
  errorSchema,
  jobIdSchema,
  jobListSchema,
  jobSummarySchema,
  metricsSchema,
  sinceSchema,
  submittedSchema,
  uploadedSchema,
} from './schemas';

/** A JSON Schema for a components entry (OpenAPI 3.1 takes JSON Schema 2020-12 as is). */
function component(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
const problem = (description: string) => json('Error', description);
const jobIdParameter = { name: 'id', in: 'path', required: true, schema: component(jobIdSchema) };

/** `GET /openapi.json`: generated from the same zod schemas the app validates with. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'kasync',
      version: '1',
      description:
        'Serverless asynchronous SGD: start, watch and stop training jobs. Errors are JSON `{error, field?}`.',
    },
    paths: {
      '/jobs': {
        post: {
          summary:
            'Start a job: validates the spec, lays the job out, invokes its P learners, answers at once',
          requestBody: { required: true, content: { 'application/json': { schema: ref('JobSpec') } } },
          responses: {
            202: json('Submitted', 'the job was created and its learners invoked'),
            400: problem('invalid JSON or an invalid spec (the message names the field)'),
            403: problem('a cross-origin request from a browser'),
            413: problem('a body over 64 KiB'),
          },
        },
        get: { summary: 'All jobs, newest first', responses: { 200: json('JobList', 'the jobs') } },
      },
      '/uploads/{kind}': {
        parameters: [
          {
            name: 'kind',
            in: 'path',
            required: true,
            schema: { type: 'string', enum: ['model', 'dataset'] },
          },
        ],
        post: {
          summary:
            'Store a file for a job spec: an ONNX model (model) or a CSV dataset (dataset); answers with its s3:// URI',
          requestBody: { required: true, content: { 'application/octet-stream': {} } },
          responses: {
            201: json('Uploaded', 'stored (content-addressed: the same file gives the same URI)'),
            400: problem('not an ONNX model, or an unknown kind'),
            413: problem(`a body over ${MAX_UPLOAD_BYTES / (1024 * 1024)} MiB`),
          },
        },
      },
      '/jobs/{id}': {
        parameters: [jobIdParameter],
        get: {
          summary: 'The job summary',
          responses: {
            200: json('JobSummary', 'the summary'),
            400: problem('not a job id'),
            404: problem('no such job'),
          },
        },
      },
      '/jobs/{id}/metrics': {
        parameters: [
          jobIdParameter,
          { name: 'since', in: 'query', required: false, schema: component(sinceSchema) },
        ],
        get: {
          summary: 'Time series: every committed version, every learner invocation',
          responses: {
            200: json('JobMetrics', 'the metrics'),
            400: problem('not a job id'),
            404: problem('no such job'),
          },
        },
      },
      '/jobs/{id}/stop': {
        parameters: [jobIdParameter],
        post: {
          summary: 'Stop a running job (a finished job is left as it is); answers with the summary',
          responses: {
            200: json('JobSummary', 'the summary'),
            400: problem('not a job id'),
            404: problem('no such job'),
          },
        },
      },
      '/jobs/{id}/model': {
        parameters: [jobIdParameter],
        get: {
          summary: 'The trained model: the forward graph with the latest committed weights as initializers',
          responses: {
            200: {
              description: 'an ONNX inference model with one input, x',
              headers: {
                'X-Kasync-Version': { description: 'the version exported', schema: { type: 'integer' } },
              },
              content: {
                'application/octet-stream': {
                  schema: { type: 'string', contentMediaType: 'application/octet-stream' },
                },
              },
            },
            400: problem('not a job id'),
            404: problem('no such job'),
          },
        },
      },
      '/': {
        get: {
          summary: 'The dashboard',
          responses: { 200: { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } },
      },
    },
    components: {
      schemas: {
        JobSpec: component(jobSpecSchema, 'input'),
        Submitted: component(submittedSchema),
        Uploaded: component(uploadedSchema),
        JobSummary: component(jobSummarySchema),
        JobList: component(jobListSchema),
        JobMetrics: component(metricsSchema),
        Error: component(errorSchema),
      },
    },
  };
}
