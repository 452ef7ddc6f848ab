import { attr, intAttr, intsAttr, TensorTypeCode } from '../../graph';
import type { GradientRule } from '../rule';

/**
 * Like ReduceSum's rule, divided by the number of elements averaged. Axes are an attribute up
 * to opset 17 and an input from opset 18; both forms are read.
 */
export const reduceMeanGradient: GradientRule = {
  opType: 'ReduceMean',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const x = node.inputs[0] as string;
      const dy = ctx.outputGrad();
      let kept = dy;
      if (intAttr(node, 'keepdims', 1) === 0) {
        const axesAttribute = intsAttr(node, 'axes');
        const axes = node.inputs[1] || (axesAttribute && ctx.int64(axesAttribute));
        if (axes) kept = ctx.op('Unsqueeze', [dy, axes]);
      }
      const expanded = ctx.op('Expand', [kept, ctx.op('Shape', [x])]);
      const count = ctx.op('Div', [ctx.op('Size', [x]), ctx.op('Size', [node.outputs[0] as string])]);
      return ctx.op('Div', [
        expanded,
        ctx.op('Cast', [count], { to: attr.int(TensorTypeCode[ctx.floatType]) }),
      ]);
    },
  ],
};
