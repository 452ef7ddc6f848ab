import type { GradientRule } from '../rule';

export const identityGradient: GradientRule = {
  opType: 'Identity',
  differentiableInputs: [0],
  gradients: (_node, ctx) => [() => ctx.outputGrad()],
};
