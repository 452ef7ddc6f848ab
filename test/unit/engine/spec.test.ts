import { ValidationError } from '../../../engine/errors';
import { parseJobSpec } from '../../../engine/spec';

function fieldOf(input: unknown): string {
  try {
    parseJobSpec(input);
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('spec was accepted');
}

describe('parseJobSpec', () => {
  it('fills every default but model and dataset', () => {
    const spec = parseJobSpec({ model: 'mlp', dataset: 'mnist' });
    expect(spec).toMatchObject({
      model: { kind: 'mlp' },
      variant: 'k-async',
      learners: 4,
      k: 2,
      batchSize: 64,
      lr: { schedule: 'constant', eta: 0.1, etaMax: 0.1 },
      stop: { maxUpdates: 1000, maxSeconds: 600 },
      stragglers: { distribution: 'none' },
    });
  });

  it('resolves K from the variant', () => {
    expect(parseJobSpec({ model: 'softmax', dataset: 'mnist', variant: 'sync', learners: 6 }).k).toBe(6);
    expect(parseJobSpec({ model: 'softmax', dataset: 'mnist', variant: 'async', learners: 6 }).k).toBe(1);
    expect(
      parseJobSpec({ model: 'softmax', dataset: 'mnist', variant: 'k-batch-async', learners: 6, k: 3 }).k,
    ).toBe(3);
  });

  it.each([
    [{ dataset: 'mnist' }, 'model'],
    [{ model: 'resnet', dataset: 'mnist' }, 'model'],
    [{ model: 'mlp' }, 'dataset'],
    [{ model: 'mlp', dataset: 'mnist', variant: 'hogwild' }, 'variant'],
    [{ model: 'mlp', dataset: 'mnist', learners: 4, k: 5 }, 'k'],
    [{ model: 'mlp', dataset: 'mnist', k: 0 }, 'k'],
    [{ model: 'mlp', dataset: 'mnist', variant: 'sync', learners: 4, k: 2 }, 'k'],
    [{ model: 'mlp', dataset: 'mnist', lr: { eta: -1 } }, 'lr.eta'],
    [{ model: 'mlp', dataset: 'mnist', lr: { eta: 0 } }, 'lr.eta'],
    [{ model: 'mlp', dataset: 'mnist', stop: { targetAccuracy: 1.5 } }, 'stop.targetAccuracy'],
    [{ model: 'mlp', dataset: 'mnist', stragglers: { distribution: 'gamma' } }, 'stragglers.distribution'],
    [{ model: 'mlp', dataset: 'mnist', stragglers: { distribution: 'exp', mean: 1 } }, 'stragglers.rate'],
    [{ model: 'mlp', dataset: 'mnist', batchsize: 3 }, 'batchsize'],
    [{ model: 'mlp', dataset: 'mnist', lr: { eta: 0.1, rate: 3 } }, 'lr.rate'],
  ])('rejects %j naming %s', (input, field) => {
    expect(fieldOf(input)).toBe(field);
  });
});
