import { attr, intAttr } from '../../graph';
import type { GradientRule } from '../rule';

/** dx = y * (dy - sum(dy * y)) along the softmax axis (opset >= 13: one axis, default -1). */
export const softmaxGradient: GradientRule = {
  opType: 'Softmax',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const y = node.outputs[0] as string;
      const dy = ctx.outputGrad();
      const axes = ctx.int64([intAttr(node, 'axis', -1)]);
      const dot = ctx.op('ReduceSum', [ctx.op('Mul', [dy, y]), axes], { keepdims: attr.int(1) });
      return ctx.op('Mul', [y, ctx.op('Sub', [dy, dot])]);
    },
  ],
};
