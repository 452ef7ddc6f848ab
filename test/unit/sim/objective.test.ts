/** @jest-environment ./test/unit/model/ort-environment.ts */

import { type BuiltinDatasetName, loadBuiltinDataset, sampleBatch } from '../../../model/datasets';
import { createRng } from '../../../model/random';
import { createEvalSession, createTrainSession } from '../../../model/session';
import { buildModel } from '../../../model/zoo';
import { evaluateLinear, type LinearModel, linearObjective } from '../../../sim/objective';

/** The simulator's plain-TypeScript objectives must be the zoo's models, gradient and all. */
describe.each([
  ['softmax', 'synthetic'],
  ['softmax', 'mnist'],
  ['logreg', 'synthetic-binary'],
] as const)('%s on %s', (kind: LinearModel, name: BuiltinDatasetName) => {
  const data = loadBuiltinDataset(name);
  const model = buildModel({ kind }, data);

  const maxRelativeDifference = (a: Float32Array, b: Float32Array) => {
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(b[i] as number));
      diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    }
    return diff / scale;
  };

  it('gives the onnxruntime train graph’s loss and gradient on the same batch', async () => {
    const session = await createTrainSession(model);
    try {
      const objective = linearObjective(kind, data, 48, model.initParams(3));
      // Away from w[0] too: a few steps of plain gradient descent.
      let weights = objective.initial;
      for (let step = 0; step < 4; step++) {
        const ours = objective.gradient(weights, createRng(100 + step));
        const batch = sampleBatch(data.train, 48, createRng(100 + step)); // the same rows
        const theirs = await session.step(weights, batch);
        expect(ours.grad).toHaveLength(model.manifest.totalSize);
        expect(ours.loss).toBeCloseTo(theirs.loss, 5);
        expect(maxRelativeDifference(ours.grad, theirs.grad)).toBeLessThan(1e-4);
        weights = weights.map((w, i) => w - 0.5 * (ours.grad[i] as number));
      }
    } finally {
      await session.release();
    }
  });

  it('evaluates like the forward graph', async () => {
    const evaluator = await createEvalSession(model);
    try {
      const weights = model.initParams(5).map((w, i) => w + 0.01 * (i % 7));
      const expected = await evaluator.evaluate(weights, data.test);
      const ours = evaluateLinear(kind, weights, data.test, data.features, data.classes);
      expect(ours.loss).toBeCloseTo(expected.loss, 5);
      expect(ours.accuracy).toBe(expected.accuracy);
    } finally {
      await evaluator.release();
    }
  });
});

describe('linear objectives', () => {
  it('refuse weights of the wrong size, and logreg on more than two classes', () => {
    const data = loadBuiltinDataset('synthetic');
    expect(() => linearObjective('softmax', data, 8, new Float32Array(3))).toThrow(/84 parameters/);
    expect(() => linearObjective('logreg', data, 8, new Float32Array(21))).toThrow(/binary/);
  });
});
