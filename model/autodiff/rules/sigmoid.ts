import type { GradientRule } from '../rule';

/** d sigmoid = dy * y * (1 - y), written as dy*y - dy*y*y to need no constant. */
export const sigmoidGradient: GradientRule = {
  opType: 'Sigmoid',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const y = node.outputs[0] as string;
      const dyTimesY = ctx.op('Mul', [ctx.outputGrad(), y]);
      return ctx.op('Sub', [dyTimesY, ctx.op('Mul', [dyTimesY, y])]);
    },
  ],
};
