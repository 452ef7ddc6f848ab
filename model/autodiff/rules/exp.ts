import type { GradientRule } from '../rule';

/** d exp(x) = exp(x) dx: the output itself. */
export const expGradient: GradientRule = {
  opType: 'Exp',
  differentiableInputs: [0],
  gradients: (node, ctx) => [() => ctx.op('Mul', [ctx.outputGrad(), node.outputs[0] as string])],
};
