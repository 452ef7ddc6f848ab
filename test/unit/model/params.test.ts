import { ShapeMismatchError } from '../../../model/errors';
import { checkFlatSize, createManifest, paramView } from '../../../model/params';

describe('createManifest', () => {
  test('lays parameters out back to back in order', () => {
    const manifest = createManifest([
      { name: 'w', shape: [2, 3] },
      { name: 'b', shape: [3] },
      { name: 's', shape: [] },
    ]);
    expect(manifest).toEqual({
      params: [
        { name: 'w', shape: [2, 3], offset: 0, size: 6 },
        { name: 'b', shape: [3], offset: 6, size: 3 },
        { name: 's', shape: [], offset: 9, size: 1 },
      ],
      totalSize: 10,
    });
  });

  test('rejects duplicate names and invalid shapes', () => {
    expect(() =>
      createManifest([
        { name: 'w', shape: [1] },
        { name: 'w', shape: [2] },
      ]),
    ).toThrow(ShapeMismatchError);
    expect(() => createManifest([{ name: 'w', shape: [0, 3] }])).toThrow(/invalid shape/);
    expect(() => createManifest([{ name: 'w', shape: [1.5] }])).toThrow(/invalid shape/);
  });
});

test('paramView is a view into the flat vector, and sizes are checked', () => {
  const manifest = createManifest([
    { name: 'w', shape: [2] },
    { name: 'b', shape: [2] },
  ]);
  const flat = Float32Array.of(1, 2, 3, 4);
  const bias = paramView(flat, manifest.params[1] as (typeof manifest.params)[number]);
  expect(Array.from(bias)).toEqual([3, 4]);
  bias[0] = 9;
  expect(flat[2]).toBe(9);
  expect(() => checkFlatSize(manifest, flat)).not.toThrow();
  expect(() => checkFlatSize(manifest, new Float32Array(5), 'gradient')).toThrow(/gradient has 5 values/);
});
