import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../engine/errors';

/** `--json` output: one JSON object on the last line of stdout, nothing after it. */
export function printResult(value: object, json: boolean | undefined, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}

/** A job spec from a JSON or YAML file (YAML is a superset of JSON; `.json` gets the stricter parser). */
export async function readSpec(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  const json = file.endsWith('.json');
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ValidationError(
      '(spec)',
      `${file} is not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
}
