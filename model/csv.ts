import type { Dataset, Split } from './datasets';
import { DatasetError } from './errors';
import { createRng, hashSeed } from './random';
import type { LabelKind } from './train-graph';

export interface CsvOptions {
  /** Dataset name, e.g. derived from the file's hash. */
  readonly name: string;
  /** Header name of the label column; every other column is a numeric feature. */
  readonly label: string;
  /** Class indices (integers 0..255) or real-valued regression targets. */
  readonly labels: LabelKind;
  /** Fraction of rows held out for evaluation, chosen by a shuffle seeded with `seed`. */
  readonly testFraction: number;
  readonly seed: string | number;
}

/** Malformed rows reported at most; the error says how many there were in all. */
const REPORTED_PROBLEMS = 10;
const MAX_CLASSES = 256;

/**
 * Parses a CSV file with a header row into a dataset: numeric features, one label column,
 * a seeded random held-out split. Fields may be double-quoted (RFC 4180); blank lines are
 * skipped. Every malformed row is collected and reported with its line number in one
 * DatasetError, so a user fixes a file in one pass.
 */
export function parseCsvDataset(text: string, options: CsvOptions): Dataset {
  const lines = splitLines(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const headerLine = lines.find((line) => line.text.trim() !== '');
  if (headerLine === undefined) throw new DatasetError('the CSV file is empty');
  const header = splitFields(headerLine.text).map((name) => name.trim());
  const labelColumn = header.indexOf(options.label);
  if (labelColumn < 0) {
    throw new DatasetError(`the CSV header has no column '${options.label}' (columns: ${header.join(', ')})`);
  }
  if (header.length < 2)
    throw new DatasetError('the CSV file needs at least one feature column besides the label');
  const featureNames = header.filter((_, column) => column !== labelColumn);
  const features = featureNames.length;

  const rows = lines.filter((line) => line.number > headerLine.number && line.text.trim() !== '');
  const x = new Float32Array(rows.length * features);
  const y = options.labels === 'targets' ? new Float32Array(rows.length) : new Uint8Array(rows.length);
  const problems: string[] = [];
  let problemCount = 0;
  const report = (line: number, message: string) => {
    problemCount++;
    if (problems.length < REPORTED_PROBLEMS) problems.push(`line ${line}: ${message}`);
  };
  rows.forEach((line, row) => {
    const fields = splitFields(line.text);
    if (fields.length !== header.length) {
      report(line.number, `${fields.length} fields, the header has ${header.length}`);
      return;
    }
    let feature = 0;
    fields.forEach((field, column) => {
      const value = parseNumber(field);
      if (column === labelColumn) {
        const problem = labelProblem(value, field, options);
        if (problem !== undefined) report(line.number, problem);
        else y[row] = value as number;
        return;
      }
      if (value === undefined) {
        report(line.number, `column '${header[column]}' is '${field.trim()}', not a number`);
      } else x[row * features + feature] = value;
      feature++;
    });
  });
  if (problemCount > 0) {
    const more = problemCount > problems.length ? `; and ${problemCount - problems.length} more` : '';
    throw new DatasetError(`${problemCount} malformed row(s) in the CSV file: ${problems.join('; ')}${more}`);
  }
  if (rows.length < 2)
    throw new DatasetError(`the CSV file has ${rows.length} data row(s); it needs at least 2`);

  let largestLabel = 0;
  for (const label of y) largestLabel = Math.max(largestLabel, label);
  const classes = options.labels === 'targets' ? 0 : largestLabel + 1;
  const { train, test } = splitRows({ x, y, n: rows.length }, features, options);
  return { name: options.name, features, classes, train, test };
}

interface Line {
  /** 1-based, as editors show it. */
  readonly number: number;
  readonly text: string;
}

/** Lines of the file, keeping a quoted field's line breaks inside its line. */
function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  let number = 1;
  let startNumber = 1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') quoted = !quoted;
    else if (char === '\n') {
      if (!quoted) {
        lines.push({ number: startNumber, text: text.slice(start, i).replace(/\r$/, '') });
        start = i + 1;
        startNumber = number + 1;
      }
      number++;
    }
  }
  if (start < text.length) lines.push({ number: startNumber, text: text.slice(start).replace(/\r$/, '') });
  return lines;
}

function splitFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}

/** A finite number, or undefined for anything else (empty, NaN, text). */
function parseNumber(field: string): number | undefined {
  const trimmed = field.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

function labelProblem(value: number | undefined, field: string, options: CsvOptions): string | undefined {
  if (value === undefined) return `label '${options.label}' is '${field.trim()}', not a number`;
  if (options.labels === 'targets') return undefined;
  return Number.isInteger(value) && value >= 0 && value < MAX_CLASSES
    ? undefined
    : `label '${options.label}' is ${field.trim()}, not a class index (an integer from 0 to ${MAX_CLASSES - 1})`;
}

/** A seeded shuffle, then the first round(n * testFraction) rows (at least 1, at most n - 1) are held out. */
function splitRows(all: Split, features: number, options: CsvOptions): { train: Split; test: Split } {
  const testRows = Math.min(all.n - 1, Math.max(1, Math.round(all.n * options.testFraction)));
  const order = createRng(hashSeed(options.seed, 'csv-split')).shuffle(
    Array.from({ length: all.n }, (_, i) => i),
  );
  const gather = (indices: readonly number[]): Split => {
    const x = new Float32Array(indices.length * features);
    const y =
      all.y instanceof Float32Array ? new Float32Array(indices.length) : new Uint8Array(indices.length);
    indices.forEach((source, i) => {
      x.set(all.x.subarray(source * features, (source + 1) * features), i * features);
      y[i] = all.y[source] as number;
    });
    return { x, y, n: indices.length };
  };
  return { test: gather(order.slice(0, testRows)), train: gather(order.slice(testRows)) };
}
