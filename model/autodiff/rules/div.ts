import { sumToShapeOf } from '../broadcast';
import type { GradientRule } from '../rule';

/** y = a / b: da = dy / b and db = -dy * a / b^2 = -dy * y / b. */
export const divGradient: GradientRule = {
  opType: 'Div',
  differentiableInputs: [0, 1],
  gradients: (node, ctx) => {
    const [a, b] = node.inputs as [string, string];
    const y = node.outputs[0] as string;
    const dyOverB = () => ctx.op('Div', [ctx.outputGrad(), b]);
    return [
      () => sumToShapeOf(ctx, dyOverB(), a),
      () => ctx.op('Neg', [sumToShapeOf(ctx, ctx.op('Mul', [dyOverB(), y]), b)]),
    ];
  },
};
