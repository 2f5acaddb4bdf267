#!/usr/bin/env node
// Reads a GGUF file with @huggingface/gguf, a reader independent of fib_quant_kv, and prints as one JSON object
// what it found (for tests/checkpoint/test_gguf_independent_reader.py):
//
//   {"version": 3, "tensor_count": "4", "kv_count": "6", "data_offset": "352", "file_size": 1234,
//    "metadata": [{"key": "general.name", "type": 8, "value": "x"}, ...],              file order
//    "tensors": [{"name": "blk.0.k", "dims": ["8", "4"], "type": 30, "offset": "0",  dims innermost first
//                 "length": 64, "sha256": "..."}, ...]}                               as stored
//
// 64-bit integers (counts, dims, offsets, u64/i64 values) are decimal strings, so none is rounded; arrays carry
// their element type ("sub_type"). A tensor's bytes are the package's tensorDataOffset (the data section start
// it computes from the header and general.alignment) + the tensor's offset, for elements x element size bytes.
//
//   node read_gguf.js FILE
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const { gguf } = require("@huggingface/gguf");

// Bytes per element of the unquantized ggml types (ggml type code -> size); a quantized tensor is refused.
const ELEMENT_SIZE = { 0: 4, 1: 2, 24: 1, 25: 2, 26: 4, 27: 8, 28: 8, 30: 2 };

function plain(value) {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

async function main() {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: node read_gguf.js FILE\n");
    process.exit(2);
  }
  const parsed = await gguf(file, { allowLocalFile: true, typedMetadata: true });
  const { typedMetadata, tensorInfos, tensorDataOffset, littleEndian } = parsed;
  if (!littleEndian) throw new Error("a big-endian file");

  const metadata = [];
  for (const [key, entry] of Object.entries(typedMetadata)) {
    if (key === "version" || key === "tensor_count" || key === "kv_count") continue;  // the header, not pairs
    const item = { key, type: entry.type, value: plain(entry.value) };
    if (entry.subType !== undefined) item.sub_type = entry.subType;
    metadata.push(item);
  }

  const fd = fs.openSync(file, "r");
  const fileSize = fs.fstatSync(fd).size;
  const tensors = [];
  for (const t of tensorInfos) {
    const size = ELEMENT_SIZE[t.dtype];
    if (size === undefined) throw new Error(`tensor ${t.name}: ggml type ${t.dtype} is not a plain type`);
    const elements = t.shape.reduce((a, b) => a * b, 1n);
    const begin = tensorDataOffset + t.offset;
    const length = elements * BigInt(size);
    if (begin + length > BigInt(fileSize)) throw new Error(`tensor ${t.name}: data past the end of the file`);
    const bytes = Buffer.alloc(Number(length));
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(fd, bytes, done, bytes.length - done, Number(begin) + done);
      if (n === 0) throw new Error(`tensor ${t.name}: short read`);
      done += n;
    }
    tensors.push({
      name: t.name,
      dims: t.shape.map(String),
      type: t.dtype,
      offset: t.offset.toString(),
      length: bytes.length,
      sha256: crypto.createHash("sha256").update(bytes).digest("hex"),
    });
  }
  fs.closeSync(fd);

  const out = {
    version: typedMetadata.version.value,
    tensor_count: typedMetadata.tensor_count.value.toString(),
    kv_count: typedMetadata.kv_count.value.toString(),
    data_offset: tensorDataOffset.toString(),
    file_size: fileSize,
    metadata,
    tensors,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stderr.write(`read_gguf.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
