import type { GradientRule } from '../rule';

export const logGradient: GradientRule = {
  opType: 'Log',
  differentiableInputs: [0],
  gradients: (node, ctx) => [() => ctx.op('Div', [ctx.outputGrad(), node.inputs[0] as string])],
};
