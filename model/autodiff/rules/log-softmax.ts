import { attr, intAttr } from '../../graph';
import type { GradientRule } from '../rule';

/** dx = dy - softmax(x) * sum(dy) along the axis; softmax(x) is exp of the output. */
export const logSoftmaxGradient: GradientRule = {
  opType: 'LogSoftmax',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const dy = ctx.outputGrad();
      const axes = ctx.int64([intAttr(node, 'axis', -1)]);
      const total = ctx.op('ReduceSum', [dy, axes], { keepdims: attr.int(1) });
      const probabilities = ctx.op('Exp', [node.outputs[0] as string]);
      return ctx.op('Sub', [dy, ctx.op('Mul', [probabilities, total])]);
    },
  ],
};
