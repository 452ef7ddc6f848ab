import type { GradientRule } from '../rule';

export const flattenGradient: GradientRule = {
  opType: 'Flatten',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => ctx.op('Reshape', [ctx.outputGrad(), ctx.op('Shape', [node.inputs[0] as string])]),
  ],
};
