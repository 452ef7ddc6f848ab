import { attr, TensorTypeCode } from '../../graph';
import type { GradientRule } from '../rule';

/**
 * dx = dy where relu(x) > 0, else 0. The 0/1 mask is Greater then Cast: onnxruntime runs that
 * about twice as fast as Sign, and it is one of the largest backward costs of a CNN.
 */
export const reluGradient: GradientRule = {
  opType: 'Relu',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const active = ctx.op('Greater', [node.outputs[0] as string, ctx.scalar(0)]);
      return ctx.op('Mul', [
        ctx.outputGrad(),
        ctx.op('Cast', [active], { to: attr.int(TensorTypeCode[ctx.floatType]) }),
      ]);
    },
  ],
};
