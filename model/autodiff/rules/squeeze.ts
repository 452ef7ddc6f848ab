import type { GradientRule } from '../rule';

/** Squeeze only drops size-1 axes: reshape the gradient back. The axes input is not differentiable. */
export const squeezeGradient: GradientRule = {
  opType: 'Squeeze',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => ctx.op('Reshape', [ctx.outputGrad(), ctx.op('Shape', [node.inputs[0] as string])]),
  ],
};
