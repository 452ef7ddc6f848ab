import type { GradientRule } from '../rule';
import { asFloat } from '../tensor-ops';

/** Each input element gets its channel's output gradient divided by the number averaged. */
export const globalAveragePoolGradient: GradientRule = {
  opType: 'GlobalAveragePool',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const x = node.inputs[0] as string;
      const expanded = ctx.op('Expand', [ctx.outputGrad(), ctx.op('Shape', [x])]);
      const averaged = ctx.op('Div', [ctx.op('Size', [x]), ctx.op('Size', [node.outputs[0] as string])]);
      return ctx.op('Div', [expanded, asFloat(ctx, averaged)]);
    },
  ],
};
