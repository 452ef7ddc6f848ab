import type { GradientRule } from '../rule';

/** Reshape only moves values around: reshape the gradient back. The target shape is not differentiable. */
export const reshapeGradient: GradientRule = {
  opType: 'Reshape',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => ctx.op('Reshape', [ctx.outputGrad(), ctx.op('Shape', [node.inputs[0] as string])]),
  ],
};
