import { attr, intAttr } from '../../graph';
import type { GradientRule } from '../rule';

/** Each input gets its own slab of the gradient along the axis; offsets are summed at run time. */
export const concatGradient: GradientRule = {
  opType: 'Concat',
  differentiableInputs: (node) => node.inputs.map((_, index) => index),
  gradients: (node, ctx) => {
    const axis = intAttr(node, 'axis', 0);
    const axes = ctx.int64([axis]);
    const extent = (input: string) =>
      ctx.op('Gather', [ctx.op('Shape', [input]), axes], { axis: attr.int(0) });
    return node.inputs.map((input, index) => () => {
      const start = node.inputs
        .slice(0, index)
        .reduce<string>((offset, before) => ctx.op('Add', [offset, extent(before)]), ctx.int64([0]));
      const end = ctx.op('Add', [start, extent(input)]);
      return ctx.op('Slice', [ctx.outputGrad(), start, end, axes]);
    });
  },
};
