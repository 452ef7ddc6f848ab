import type { GradientRule } from '../rule';

/** d tanh = dy * (1 - y^2), written as dy - dy*y*y to need no constant. */
export const tanhGradient: GradientRule = {
  opType: 'Tanh',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const y = node.outputs[0] as string;
      const dy = ctx.outputGrad();
      return ctx.op('Sub', [dy, ctx.op('Mul', [ctx.op('Mul', [dy, y]), y])]);
    },
  ],
};
