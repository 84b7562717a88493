// Minimal TensorProto (onnx.proto) reader and writer for the ORT harness:
// dims(1), data_type(2), float_data(4), int32_data(5), int64_data(7), name(8),
// raw_data(9), double_data(10), uint64_data(11). Written for pare; no deps.
'use strict';

const TYPES = {
  1: ['float32', Float32Array, 4], 2: ['uint8', Uint8Array, 1], 3: ['int8', Int8Array, 1],
  4: ['uint16', Uint16Array, 2], 5: ['int16', Int16Array, 2], 6: ['int32', Int32Array, 4],
  7: ['int64', BigInt64Array, 8], 9: ['bool', Uint8Array, 1], 10: ['float16', Uint16Array, 2],
  11: ['float64', Float64Array, 8], 12: ['uint32', Uint32Array, 4], 13: ['uint64', BigUint64Array, 8],
};
const CODE_OF = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v[0], Number(k)]));

function readVarint(buf, pos) {
  let result = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos.i++];
    if (b === undefined) throw new Error('truncated varint');
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
  }
}

function decode(buf) {
  const pos = { i: 0 };
  const t = { dims: [], dataType: 0, name: '', raw: null, floats: [], ints: [], doubles: [] };
  while (pos.i < buf.length) {
    const tag = Number(readVarint(buf, pos));
    const field = tag >> 3, wire = tag & 7;
    if (wire === 0) {
      const v = readVarint(buf, pos);
      if (field === 1) t.dims.push(Number(BigInt.asIntN(64, v)));
      else if (field === 2) t.dataType = Number(v);
      else if (field === 5 || field === 7 || field === 11) t.ints.push(BigInt.asIntN(64, v));
    } else if (wire === 2) {
      const len = Number(readVarint(buf, pos));
      const body = buf.subarray(pos.i, pos.i + len);
      pos.i += len;
      if (field === 8) t.name = body.toString('utf8');
      else if (field === 9) t.raw = Buffer.from(body);
      else if (field === 1 || field === 5 || field === 7 || field === 11) {
        const p = { i: 0 };
        while (p.i < body.length) {
          const v = readVarint(body, p);
          if (field === 1) t.dims.push(Number(BigInt.asIntN(64, v))); else t.ints.push(BigInt.asIntN(64, v));
        }
      } else if (field === 4) for (let k = 0; k < len; k += 4) t.floats.push(body.readFloatLE(k));
      else if (field === 10) for (let k = 0; k < len; k += 8) t.doubles.push(body.readDoubleLE(k));
    } else if (wire === 5) {
      if (field === 4) t.floats.push(buf.readFloatLE(pos.i));
      pos.i += 4;
    } else if (wire === 1) {
      if (field === 10) t.doubles.push(buf.readDoubleLE(pos.i));
      pos.i += 8;
    } else {
      throw new Error('unsupported wire type ' + wire);
    }
  }
  const type = TYPES[t.dataType];
  if (!type) throw new Error('unsupported data type ' + t.dataType);
  const [name, Arr, size] = type;
  const count = t.dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.raw) {
    const copy = new Uint8Array(t.raw);  // aligned copy
    data = new Arr(copy.buffer, 0, count);
    if (name === 'bool') data = Uint8Array.from(data, (x) => (x ? 1 : 0));
  } else if (t.floats.length) data = Float32Array.from(t.floats);
  else if (t.doubles.length) data = Float64Array.from(t.doubles);
  else if (Arr === BigInt64Array || Arr === BigUint64Array) data = Arr.from(t.ints);
  else data = Arr.from(t.ints.map(Number));
  if (data.length !== count) throw new Error(`tensor has ${data.length} values, dims need ${count}`);
  if (name === 'bool') data = Array.from(data, (x) => x !== 0);
  return { name: t.name, type: name, dims: t.dims, data, size };
}

function varint(n) {
  let v = BigInt.asUintN(64, BigInt(n));
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}

function encode(name, type, dims, data) {
  const code = CODE_OF[type];
  if (!code) throw new Error('unsupported output type ' + type);
  const parts = [];
  for (const d of dims) parts.push(varint(1 << 3), varint(d));
  parts.push(varint(2 << 3), varint(code));
  const nameBuf = Buffer.from(name, 'utf8');
  parts.push(varint((8 << 3) | 2), varint(nameBuf.length), nameBuf);
  let raw;
  if (type === 'bool') raw = Buffer.from(Array.from(data, (x) => (x ? 1 : 0)));
  else raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  parts.push(varint((9 << 3) | 2), varint(raw.length), raw);
  return Buffer.concat(parts);
}

module.exports = { decode, encode };
