import { attr, intsAttr } from '../../graph';
import type { GradientRule } from '../rule';

/**
 * Transposes the gradient with the inverse permutation. Without perm, Transpose reverses the
 * axes, which is its own inverse, so the rank need not be known.
 */
export const transposeGradient: GradientRule = {
  opType: 'Transpose',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const perm = intsAttr(node, 'perm');
      if (perm === undefined) return ctx.op('Transpose', [ctx.outputGrad()]);
      const inverse = Array<number>(perm.length);
      perm.forEach((axis, i) => {
        inverse[axis] = i;
      });
      return ctx.op('Transpose', [ctx.outputGrad()], { perm: attr.ints(inverse) });
    },
  ],
};
