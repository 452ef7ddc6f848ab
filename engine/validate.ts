import type { z } from 'zod';
import { ValidationError } from './errors';

/** Parses with a zod schema; the first problem becomes a ValidationError naming its field. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, root = '(input)'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  // An unknown key is reported on its parent; name the key itself.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  throw new ValidationError(path.join('.') || root, issue.message);
}
