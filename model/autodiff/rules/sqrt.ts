import type { GradientRule } from '../rule';

/** d sqrt(x) = dx / (2 sqrt(x)), reusing the output. */
export const sqrtGradient: GradientRule = {
  opType: 'Sqrt',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => ctx.op('Div', [ctx.op('Mul', [ctx.outputGrad(), ctx.scalar(0.5)]), node.outputs[0] as string]),
  ],
};
