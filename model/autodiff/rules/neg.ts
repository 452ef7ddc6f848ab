import type { GradientRule } from '../rule';

export const negGradient: GradientRule = {
  opType: 'Neg',
  differentiableInputs: [0],
  gradients: (_node, ctx) => [() => ctx.op('Neg', [ctx.outputGrad()])],
};
