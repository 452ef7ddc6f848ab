import { floatAttr } from '../../graph';
import type { GradientRule } from '../rule';

/** dx = dy where x > 0, alpha * dy elsewhere. */
export const leakyReluGradient: GradientRule = {
  opType: 'LeakyRelu',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const dy = ctx.outputGrad();
      const positive = ctx.op('Greater', [node.inputs[0] as string, ctx.scalar(0)]);
      return ctx.op('Where', [positive, dy, ctx.op('Mul', [dy, ctx.scalar(floatAttr(node, 'alpha', 0.01))])]);
    },
  ],
};
