import { intAttr } from '../../graph';
import type { GradientRule } from '../rule';

/** Every summed element gets the gradient of its sum: restore reduced axes, then broadcast. */
export const reduceSumGradient: GradientRule = {
  opType: 'ReduceSum',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const [x, axes] = node.inputs as [string, string | undefined];
      const dy = ctx.outputGrad();
      const kept = intAttr(node, 'keepdims', 1) === 0 && axes ? ctx.op('Unsqueeze', [dy, axes]) : dy;
      return ctx.op('Expand', [kept, ctx.op('Shape', [x])]);
    },
  ],
};
