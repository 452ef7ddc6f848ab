import type { GradientRule } from '../rule';

/** Sign(relu(x)) is the 0/1 mask of x > 0 in the input's own float type, with no constant needed. */
export const reluGradient: GradientRule = {
  opType: 'Relu',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => ctx.op('Mul', [ctx.outputGrad(), ctx.op('Sign', [node.outputs[0] as string])]),
  ],
};
