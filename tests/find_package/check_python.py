"""The installed Python module (install_find_package): it imports from the install prefix, with no build tree on
the path, and works. Prints the byte size of one descriptor."""
import os
import sys

import fib_quant_kv as fqk

where = os.path.dirname(fqk.__file__)
if not where.startswith(sys.argv[1]):
    sys.exit(f"fib_quant_kv imported from {where}, not from the install prefix {sys.argv[1]}")
shape = fqk.KvTensorShapeV1.from_json(
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"value","attention_kind":"mqa","batch":1,"layers":2,'
    '"kv_heads":1,"query_heads":8,"tokens":16,"head_dim":64,"dtype":"f32","rope_state":"not_applicable"}')
shape.validate()
print(shape.byte_size)
