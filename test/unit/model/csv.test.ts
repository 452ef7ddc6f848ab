import { parseCsvDataset } from '../../../model/csv';
import { DatasetError } from '../../../model/errors';

const options = { name: 'test', label: 'species', labels: 'classes', testFraction: 0.25, seed: 1 } as const;

function parseError(text: string, overrides: Partial<typeof options> = {}): string {
  try {
    parseCsvDataset(text, { ...options, ...overrides });
  } catch (error) {
    if (error instanceof DatasetError) return error.message;
    throw error;
  }
  throw new Error('expected a DatasetError');
}

describe('parseCsvDataset', () => {
  test('reads numeric features and class labels, holding out a seeded fraction', () => {
    const rows = Array.from({ length: 20 }, (_, i) => `${i},${i * 2},${i % 3}`);
    const text = ['length,width,species', ...rows].join('\n');
    const dataset = parseCsvDataset(text, options);
    expect(dataset).toMatchObject({ name: 'test', features: 2, classes: 3 });
    expect([dataset.train.n, dataset.test.n]).toEqual([15, 5]);
    // Every row lands in exactly one split, its features still next to its own label.
    const seen = [dataset.train, dataset.test].flatMap((split) =>
      Array.from({ length: split.n }, (_, row) => [split.x[row * 2], split.x[row * 2 + 1], split.y[row]]),
    );
    expect(seen.map(([length]) => length).sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    for (const [length, width, label] of seen) {
      expect(width).toBe((length as number) * 2);
      expect(label).toBe((length as number) % 3);
    }
    expect(parseCsvDataset(text, options).test.x).toEqual(dataset.test.x);
    expect(parseCsvDataset(text, { ...options, seed: 2 }).test.x).not.toEqual(dataset.test.x);
  });

  test('the label column may be anywhere; quotes, CRLF, a BOM and blank lines are fine', () => {
    const text = '\uFEFF"species","petal, length",width\r\n1,"1.5",2\r\n\r\n0,2.5e-1,-3\r\n';
    const dataset = parseCsvDataset(text, { ...options, testFraction: 0.5 });
    expect(dataset.features).toBe(2);
    const rows = [dataset.train, dataset.test].flatMap((split) => [...split.x]);
    expect(rows.sort()).toEqual([-3, 0.25, 1.5, 2].sort());
  });

  test('regression targets are kept as float32', () => {
    const dataset = parseCsvDataset('a,price\n1,0.5\n2,1.25\n3,-7', {
      ...options,
      label: 'price',
      labels: 'targets',
    });
    expect(dataset.classes).toBe(0);
    expect(dataset.train.y).toBeInstanceOf(Float32Array);
    expect([...dataset.train.y, ...dataset.test.y].sort()).toEqual([-7, 0.5, 1.25].sort());
  });

  test('every malformed row is reported with its line number, up to ten and a count', () => {
    const text = [
      'length,width,species',
      '1,2,0',
      '1,2',
      '1,abc,1',
      '1,,1',
      '1,2,1.5',
      '1,2,-1',
      '1,2,setosa',
      '"a,b",2,1',
    ].join('\n');
    expect(parseError(text)).toBe(
      "7 malformed row(s) in the CSV file: line 3: 2 fields, the header has 3; line 4: column 'width' is 'abc', not a number; " +
        "line 5: column 'width' is '', not a number; line 6: label 'species' is 1.5, not a class index (an integer from 0 to 255); " +
        "line 7: label 'species' is -1, not a class index (an integer from 0 to 255); line 8: label 'species' is 'setosa', not a number; " +
        "line 9: column 'length' is 'a,b', not a number",
    );
    const many = ['x,species', ...Array.from({ length: 25 }, () => 'oops,1')].join('\n');
    expect(parseError(many)).toMatch(/^25 malformed row\(s\).*line 11: .*; and 15 more$/);
  });

  test('files it cannot use are explained', () => {
    expect(parseError('')).toBe('the CSV file is empty');
    expect(parseError('a,b\n1,2', {})).toBe("the CSV header has no column 'species' (columns: a, b)");
    expect(parseError('species\n1\n2')).toMatch(/at least one feature column/);
    expect(parseError('a,species\n1,2')).toMatch(/1 data row\(s\); it needs at least 2/);
  });
});
