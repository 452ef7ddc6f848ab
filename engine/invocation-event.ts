import { z } from 'zod';
import { JOB_ID_PATTERN, LEARNER_ID_PATTERN } from './keys';
import type { LearnerInvocation } from './learner';
import { validate } from './validate';

const learnerInvocationSchema = z.strictObject({
  jobId: z.string().regex(JOB_ID_PATTERN, 'is not a job id'),
  learner: z.string().regex(LEARNER_ID_PATTERN, 'is not a learner id'),
  epoch: z.number().int().min(1),
});

/** Validates a learner event: its ids end up in S3 keys, so nothing else may pass. */
export function parseLearnerInvocation(event: unknown): LearnerInvocation {
  return validate(learnerInvocationSchema, event, '(event)');
}
