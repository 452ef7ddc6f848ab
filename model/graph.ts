import { onnx } from 'onnx-proto';
import { GraphError } from './errors';

/**
 * A small mutable ONNX graph builder. Generated graphs use opset 17 (IR version 8); graphs
 * decoded from bytes keep their own opset so a user's exported model is not reinterpreted.
 */

export const DEFAULT_OPSET = 17;
const IR_VERSION = 8;

/** Element types by onnxruntime-node's names, mapped to ONNX `TensorProto.DataType` codes. */
export const TensorTypeCode = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
} as const;

export type TensorType = keyof typeof TensorTypeCode;
export type FloatType = 'float32' | 'float64';

interface TensorArrays {
  float32: Float32Array;
  uint8: Uint8Array;
  int8: Int8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  float64: Float64Array;
}

export type TensorData = {
  [T in TensorType]: { readonly type: T; readonly dims: readonly number[]; readonly data: TensorArrays[T] };
}[TensorType];

export const tensor = {
  float: (type: FloatType, values: ArrayLike<number>, dims: readonly number[]): TensorData =>
    type === 'float32'
      ? { type, dims, data: Float32Array.from(values) }
      : { type, dims, data: Float64Array.from(values) },
  int64: (values: readonly number[], dims: readonly number[] = [values.length]): TensorData => ({
    type: 'int64',
    dims,
    data: BigInt64Array.from(values, (v) => BigInt(v)),
  }),
} as const;

/** A dimension: a size, a symbolic name such as 'N', or null when unknown. */
export type Dim = number | string | null;

export interface ValueInfo {
  readonly name: string;
  readonly type: TensorType;
  /** Undefined when even the rank is unknown. */
  readonly shape?: readonly Dim[];
}

export type AttributeValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: TensorData }
  /** Attribute kinds the builder never creates (subgraphs, sparse tensors), kept verbatim. */
  | { readonly kind: 'opaque'; readonly value: onnx.IAttributeProto };

/** ONNX distinguishes int and float attributes, which JS numbers cannot, so they are tagged. */
export const attr = {
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  tensor: (value: TensorData): AttributeValue => ({ kind: 'tensor', value }),
} as const;

export type Attributes = Readonly<Record<string, AttributeValue>>;

export interface GraphNode {
  readonly opType: string;
  /** '' is the default ONNX domain. */
  readonly domain: string;
  readonly name: string;
  /** '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Attributes;
}

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Attributes;
  readonly name?: string;
  readonly domain?: string;
}

export interface OpOptions {
  /** Prefix for the generated node and output names; defaults to the op type. */
  readonly name?: string;
}

export class Graph {
  readonly name: string;
  readonly opset: number;
  private readonly nodeList: GraphNode[] = [];
  private readonly inputList: ValueInfo[] = [];
  private readonly inputNames = new Set<string>();
  private readonly outputList: ValueInfo[] = [];
  private readonly initializerMap = new Map<string, TensorData>();
  private readonly valueInfoMap = new Map<string, ValueInfo>();
  private readonly producedTensors = new Set<string>();
  private readonly takenNames = new Set<string>();
  private readonly constantCache = new Map<string, string>();

  constructor(name = 'graph', opset = DEFAULT_OPSET) {
    this.name = name;
    this.opset = opset;
  }

  get nodes(): readonly GraphNode[] {
    return this.nodeList;
  }

  get inputs(): readonly ValueInfo[] {
    return this.inputList;
  }

  get outputs(): readonly ValueInfo[] {
    return this.outputList;
  }

  get initializers(): ReadonlyMap<string, TensorData> {
    return this.initializerMap;
  }

  /** Known type and shape of any tensor declared as input, output, initializer or value_info. */
  valueInfo(name: string): ValueInfo | undefined {
    const declared = this.valueInfoMap.get(name);
    if (declared !== undefined) return declared;
    const initializer = this.initializerMap.get(name);
    return initializer && { name, type: initializer.type, shape: initializer.dims };
  }

  /** `prefix` itself if no tensor or node uses it yet, else `prefix_1`, `prefix_2`, ... */
  freshName(prefix: string): string {
    let candidate = prefix;
    for (let i = 1; this.takenNames.has(candidate); i++) candidate = `${prefix}_${i}`;
    this.takenNames.add(candidate);
    return candidate;
  }

  /** Marks names as used so freshName never returns them, e.g. before copying another graph's nodes. */
  reserveNames(names: Iterable<string>): void {
    for (const name of names) if (name !== '') this.takenNames.add(name);
  }

  addInput(name: string, type: TensorType, shape?: readonly Dim[]): string {
    this.defineTensor(name, 'graph input');
    const info = { name, type, shape };
    this.inputList.push(info);
    this.inputNames.add(name);
    this.valueInfoMap.set(name, info);
    return name;
  }

  addOutput(name: string, type: TensorType, shape?: readonly Dim[]): void {
    if (this.outputList.some((output) => output.name === name)) {
      throw new GraphError(`graph output '${name}' is declared twice`);
    }
    const info = { name, type, shape };
    this.outputList.push(info);
    if (!this.valueInfoMap.has(name)) this.valueInfoMap.set(name, info);
  }

  clearOutputs(): void {
    this.outputList.length = 0;
  }

  addInitializer(name: string, value: TensorData): string {
    this.defineTensor(name, 'initializer');
    checkTensorSize(name, value);
    this.initializerMap.set(name, value);
    return name;
  }

  /** An initializer holding `value`; small identical constants are shared. */
  constant(value: TensorData, prefix = 'const'): string {
    const key = value.data.length <= 16 ? constantKey(value) : undefined;
    const cached = key === undefined ? undefined : this.constantCache.get(key);
    if (cached !== undefined) return cached;
    const name = this.addInitializer(this.freshName(prefix), value);
    if (key !== undefined) this.constantCache.set(key, name);
    return name;
  }

  addNode(spec: NodeSpec): GraphNode {
    const name = spec.name ?? this.freshName(spec.opType);
    this.takenNames.add(name);
    const node = this.defineNode(name, spec, []);
    this.nodeList.push(node);
    return node;
  }

  /** Registers the node's new outputs (those not in `existing`) and builds the node. */
  private defineNode(name: string, spec: Omit<NodeSpec, 'name'>, existing: readonly string[]): GraphNode {
    for (const output of spec.outputs) {
      if (output === '' || existing.includes(output)) continue;
      this.defineTensor(output, `output of node '${name}'`);
      this.producedTensors.add(output);
    }
    return {
      opType: spec.opType,
      domain: spec.domain ?? '',
      name,
      inputs: [...spec.inputs],
      outputs: [...spec.outputs],
      attributes: spec.attributes ?? {},
    };
  }

  /** Appends a single-output node with fresh names and returns its output tensor. */
  op(opType: string, inputs: readonly string[], attributes?: Attributes, options?: OpOptions): string {
    return this.opMulti(opType, inputs, 1, attributes, options)[0] as string;
  }

  opMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes?: Attributes,
    options?: OpOptions,
  ): string[] {
    const name = this.freshName(options?.name ?? opType);
    const outputs = Array.from({ length: outputCount }, (_, i) =>
      this.freshName(outputCount === 1 ? `${name}_out` : `${name}_out${i}`),
    );
    this.addNode({ opType, inputs, outputs, attributes, name });
    return outputs;
  }

  /**
   * Declares the type and shape of an intermediate tensor (ONNX value_info), so gradient rules
   * can use a static shape that shape inference would otherwise only know at run time.
   */
  declareValueInfo(name: string, type: TensorType, shape?: readonly Dim[]): void {
    this.valueInfoMap.set(name, { name, type, shape });
  }

  /**
   * Replaces the node called `name` in place (same position, so the graph stays topologically
   * sorted). Outputs the old node did not have become new tensors.
   */
  replaceNode(name: string, spec: Omit<NodeSpec, 'name'>): GraphNode {
    const index = this.nodeList.findIndex((node) => node.name === name);
    const old = this.nodeList[index];
    if (old === undefined) throw new GraphError(`graph '${this.name}' has no node '${name}'`);
    const node = this.defineNode(name, spec, old.outputs);
    this.nodeList[index] = node;
    return node;
  }

  /** A copy; `opset` raises (or sets) the default-domain opset of the copy. */
  clone(name = this.name, opset = this.opset): Graph {
    const copy = new Graph(name, opset);
    for (const info of this.inputList) copy.addInput(info.name, info.type, info.shape);
    for (const [initializerName, value] of this.initializerMap) copy.addInitializer(initializerName, value);
    for (const [key, constantName] of this.constantCache) copy.constantCache.set(key, constantName);
    for (const node of this.nodeList) copy.addNode(node);
    for (const info of this.valueInfoMap.values()) {
      if (!copy.valueInfoMap.has(info.name)) copy.valueInfoMap.set(info.name, info);
    }
    for (const info of this.outputList) copy.outputList.push(info);
    for (const taken of this.takenNames) copy.takenNames.add(taken);
    return copy;
  }

  toModelProto(): onnx.ModelProto {
    const outputNames = new Set(this.outputList.map((output) => output.name));
    const intermediateInfos = [...this.valueInfoMap.values()].filter(
      (info) => !this.inputNames.has(info.name) && !outputNames.has(info.name),
    );
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'kasync',
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: this.name,
        node: this.nodeList.map(nodeToProto),
        input: this.inputList.map(valueInfoToProto),
        output: this.outputList.map(valueInfoToProto),
        valueInfo: intermediateInfos.map(valueInfoToProto),
        initializer: [...this.initializerMap].map(([name, value]) => tensorToProto(name, value)),
      },
    });
  }

  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toModelProto()).finish();
  }

  static fromBytes(bytes: Uint8Array): Graph {
    let model: onnx.ModelProto;
    try {
      model = onnx.ModelProto.decode(bytes);
    } catch (cause) {
      throw new GraphError('bytes are not an ONNX model', { cause });
    }
    return Graph.fromModelProto(model);
  }

  static fromModelProto(model: onnx.IModelProto): Graph {
    const proto = model.graph;
    if (!proto) throw new GraphError('ONNX model has no graph');
    const defaultOpset = model.opsetImport?.find((entry) => !entry.domain || entry.domain === 'ai.onnx');
    const graph = new Graph(
      proto.name || 'graph',
      defaultOpset ? toNumber(defaultOpset.version) : DEFAULT_OPSET,
    );
    const initializers = new Map((proto.initializer ?? []).map((t) => [t.name ?? '', tensorFromProto(t)]));
    for (const input of proto.input ?? []) {
      // Older exporters list initializers among the inputs too; they are not fed at run time.
      if (!initializers.has(input.name ?? '')) {
        const info = valueInfoFromProto(input);
        graph.addInput(info.name, info.type, info.shape);
      }
    }
    for (const [name, value] of initializers) graph.addInitializer(name, value);
    for (const node of proto.node ?? []) graph.addNode(nodeFromProto(node));
    for (const info of proto.valueInfo ?? []) {
      const parsed = valueInfoFromProto(info);
      graph.valueInfoMap.set(parsed.name, parsed);
    }
    for (const output of proto.output ?? []) {
      const info = valueInfoFromProto(output);
      graph.addOutput(info.name, info.type, info.shape);
    }
    return graph;
  }

  /** Tensors are single-assignment: one producer, input or initializer per name. */
  private defineTensor(name: string, role: string): void {
    if (this.producedTensors.has(name) || this.inputNames.has(name) || this.initializerMap.has(name)) {
      throw new GraphError(`tensor '${name}' (${role}) is already defined in graph '${this.name}'`);
    }
    this.takenNames.add(name);
  }
}

export function intAttr(node: GraphNode, name: string, fallback: number): number {
  const found = findAttr(node, name, 'int');
  return found?.kind === 'int' ? found.value : fallback;
}

export function floatAttr(node: GraphNode, name: string, fallback: number): number {
  const found = findAttr(node, name, 'float');
  return found?.kind === 'float' ? found.value : fallback;
}

export function stringAttr(node: GraphNode, name: string, fallback: string): string {
  const found = findAttr(node, name, 'string');
  return found?.kind === 'string' ? found.value : fallback;
}

export function intsAttr(node: GraphNode, name: string): readonly number[] | undefined {
  const found = findAttr(node, name, 'ints');
  return found?.kind === 'ints' ? found.value : undefined;
}

function findAttr(node: GraphNode, name: string, kind: AttributeValue['kind']): AttributeValue | undefined {
  const value = node.attributes[name];
  if (value !== undefined && value.kind !== kind) {
    throw new GraphError(
      `attribute '${name}' of ${node.opType} node '${node.name}' is ${value.kind}, expected ${kind}`,
    );
  }
  return value;
}

export function isFloatType(type: TensorType): type is FloatType {
  return type === 'float32' || type === 'float64';
}

function constantKey(value: TensorData): string {
  return `${value.type}|${value.dims.join(',')}|${Array.from(value.data as ArrayLike<number | bigint>).join(',')}`;
}

function checkTensorSize(name: string, value: TensorData): void {
  const expected = value.dims.reduce((a, b) => a * b, 1);
  if (expected !== value.data.length) {
    throw new GraphError(
      `tensor '${name}' has ${value.data.length} values for dims [${value.dims.join(', ')}]`,
    );
  }
}

const codeToType = new Map<number, TensorType>(
  Object.entries(TensorTypeCode).map(([type, code]) => [code, type as TensorType]),
);

function typeFromCode(code: number | null | undefined, what: string): TensorType {
  const type = codeToType.get(code ?? 0);
  if (type === undefined) throw new GraphError(`${what} has unsupported element type code ${code}`);
  return type;
}

/** protobufjs decodes int64 fields as Long objects because the `long` package is installed. */
function toNumber(value: number | Long | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

function nodeToProto(node: GraphNode): onnx.INodeProto {
  return {
    opType: node.opType,
    domain: node.domain,
    name: node.name,
    input: [...node.inputs],
    output: [...node.outputs],
    attribute: Object.entries(node.attributes).map(([name, value]) => attributeToProto(name, value)),
  };
}

const AttributeType = onnx.AttributeProto.AttributeType;

function attributeToProto(name: string, value: AttributeValue): onnx.IAttributeProto {
  switch (value.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: value.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: value.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.value) };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: [...value.value] };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...value.value] };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: tensorToProto('', value.value) };
    case 'opaque':
      return { ...value.value, name };
  }
}

function nodeFromProto(node: onnx.INodeProto): NodeSpec {
  const attributes: Record<string, AttributeValue> = {};
  for (const proto of node.attribute ?? []) attributes[proto.name ?? ''] = attributeFromProto(proto);
  return {
    opType: node.opType ?? '',
    domain: node.domain === 'ai.onnx' ? '' : (node.domain ?? ''),
    // Unnamed nodes are legal ONNX; name them after their first output for error messages.
    name: node.name || `${node.opType}:${node.output?.[0] ?? ''}`,
    inputs: node.input ?? [],
    outputs: node.output ?? [],
    attributes,
  };
}

function attributeFromProto(proto: onnx.IAttributeProto): AttributeValue {
  switch (proto.type) {
    case AttributeType.INT:
      return { kind: 'int', value: toNumber(proto.i) };
    case AttributeType.FLOAT:
      return { kind: 'float', value: proto.f ?? 0 };
    case AttributeType.STRING:
      return { kind: 'string', value: new TextDecoder().decode(proto.s ?? new Uint8Array()) };
    case AttributeType.INTS:
      return { kind: 'ints', value: (proto.ints ?? []).map(toNumber) };
    case AttributeType.FLOATS:
      return { kind: 'floats', value: proto.floats ?? [] };
    case AttributeType.TENSOR:
      return proto.t ? { kind: 'tensor', value: tensorFromProto(proto.t) } : { kind: 'opaque', value: proto };
    default:
      return { kind: 'opaque', value: proto };
  }
}

function valueInfoToProto(info: ValueInfo): onnx.IValueInfoProto {
  return {
    name: info.name,
    type: {
      tensorType: {
        elemType: TensorTypeCode[info.type],
        shape: info.shape && {
          dim: info.shape.map((dim) =>
            typeof dim === 'number' ? { dimValue: dim } : dim === null ? {} : { dimParam: dim },
          ),
        },
      },
    },
  };
}

function valueInfoFromProto(proto: onnx.IValueInfoProto): ValueInfo {
  const name = proto.name ?? '';
  const tensorType = proto.type?.tensorType;
  if (!tensorType) throw new GraphError(`value '${name}' is not a tensor`);
  const type = typeFromCode(tensorType.elemType, `value '${name}'`);
  const shape = tensorType.shape?.dim?.map((dim): Dim => {
    if (dim.dimValue !== null && dim.dimValue !== undefined) return toNumber(dim.dimValue);
    return dim.dimParam || null;
  });
  return { name, type, shape };
}

/** Tensors are written as little-endian raw bytes, the layout of typed arrays on every Node host. */
function tensorToProto(name: string, value: TensorData): onnx.ITensorProto {
  const rawData = new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength);
  return { name, dataType: TensorTypeCode[value.type], dims: [...value.dims], rawData };
}

function tensorFromProto(proto: onnx.ITensorProto): TensorData {
  const name = proto.name ?? '';
  if (proto.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new GraphError(`tensor '${name}' uses external data, which is not supported`);
  }
  const type = typeFromCode(proto.dataType, `tensor '${name}'`);
  const dims = (proto.dims ?? []).map(toNumber);
  const raw = proto.rawData && proto.rawData.length > 0 ? new Uint8Array(proto.rawData).buffer : undefined;
  const value = ((): TensorData => {
    switch (type) {
      case 'float32':
        return { type, dims, data: raw ? new Float32Array(raw) : Float32Array.from(proto.floatData ?? []) };
      case 'float64':
        return { type, dims, data: raw ? new Float64Array(raw) : Float64Array.from(proto.doubleData ?? []) };
      case 'int64':
        return {
          type,
          dims,
          data: raw
            ? new BigInt64Array(raw)
            : BigInt64Array.from(proto.int64Data ?? [], (v) => BigInt(toNumber(v))),
        };
      case 'int32':
        return { type, dims, data: raw ? new Int32Array(raw) : Int32Array.from(proto.int32Data ?? []) };
      case 'int8':
        return { type, dims, data: raw ? new Int8Array(raw) : Int8Array.from(proto.int32Data ?? []) };
      case 'uint8':
      case 'bool':
        return { type, dims, data: raw ? new Uint8Array(raw) : Uint8Array.from(proto.int32Data ?? []) };
    }
  })();
  checkTensorSize(name, value);
  return value;
}
