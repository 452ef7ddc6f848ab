import type { GradientRule } from '../rule';

/** Unsqueeze only inserts size-1 axes: reshape the gradient back. The axes input is not differentiable. */
export const unsqueezeGradient: GradientRule = {
  opType: 'Unsqueeze',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => ctx.op('Reshape', [ctx.outputGrad(), ctx.op('Shape', [node.inputs[0] as string])]),
  ],
};
