"""KvTensorShapeV1.check_tensor() with numpy arrays and torch tensors.

The descriptor validates first (an invalid one raises its validate() error whatever the tensor); then the
tensor's shape must be the canonical layout (batch, layers, kv_heads, tokens, head_dim), else DescriptorError
(tensor_mismatch, rule tensor.shape, fields the five dimension fields); then its dtype the framework's name for
the descriptor's dtype, else DescriptorError (tensor_mismatch, rule tensor.dtype, field dtype). numpy has no
bfloat16: for a bf16 descriptor a numpy array must hold the raw bits as numpy.uint16 (or be an extension dtype
named bfloat16, as ml_dtypes provides); numpy.float16, same width but other numbers, is refused, and the
message says why. torch has bfloat16 and is held to it. Anything that is not a numpy array or a torch tensor is
a TypeError.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_tensors.py
"""

import pytest

import fib_quant_kv as fqk

np = pytest.importorskip("numpy")

SHAPE = (1, 2, 2, 3, 4)
DIM_FIELDS = ("batch", "layers", "kv_heads", "tokens", "head_dim")


def make(dtype, **changes):
    fields = dict(role="key", attention_kind="gqa", batch=1, layers=2, kv_heads=2, query_heads=4, tokens=3,
                  head_dim=4, dtype=dtype, rope_state="pre_rope")
    fields.update(changes)
    return fqk.KvTensorShapeV1(**fields)


def mismatch(call):
    with pytest.raises(fqk.DescriptorError) as info:
        call()
    e = info.value
    assert isinstance(e, ValueError)
    assert e.kind == fqk.ErrorKind.tensor_mismatch
    assert e.details == {}
    assert e.offset is None
    assert str(e) == f"tensor_mismatch [{e.rule}] ({', '.join(e.fields)}): {e.message}"
    return e


def assert_shape_mismatch(e, got):
    assert e.rule == "tensor.shape"
    assert e.fields == DIM_FIELDS
    assert e.message == f"tensor shape {got!r} does not match the descriptor's (1, 2, 2, 3, 4)"


# ---------------------------------------------------------------------------------------------- numpy
@pytest.mark.parametrize("dtype,np_dtype", [("f16", "float16"), ("f32", "float32")])
def test_numpy_match(dtype, np_dtype):
    s = make(dtype)
    assert s.tensor_shape == SHAPE
    assert s.check_tensor(np.zeros(SHAPE, dtype=np_dtype)) is None
    assert s.check_tensor(tensor=np.empty(SHAPE, dtype=np_dtype)) is None


@pytest.mark.parametrize("shape", [(1, 2, 2, 3), (1, 2, 2, 3, 4, 1), (1, 2, 2, 4, 3), (2, 2, 2, 3, 4), (), (48,),
                                   (1, 2, 2, 3, 0)])
def test_numpy_shape_mismatch(shape):
    e = mismatch(lambda: make("f16").check_tensor(np.zeros(shape, dtype=np.float16)))
    assert_shape_mismatch(e, shape)


def test_numpy_shape_checked_before_dtype():
    e = mismatch(lambda: make("f16").check_tensor(np.zeros((1, 2), dtype=np.float64)))
    assert_shape_mismatch(e, (1, 2))


@pytest.mark.parametrize("dtype,np_dtype,want", [("f16", "float32", "float16"), ("f32", "float16", "float32"),
                                                 ("f16", "uint16", "float16"), ("f32", "float64", "float32"),
                                                 ("f32", "int32", "float32")])
def test_numpy_dtype_mismatch(dtype, np_dtype, want):
    e = mismatch(lambda: make(dtype).check_tensor(np.zeros(SHAPE, dtype=np_dtype)))
    assert e.rule == "tensor.dtype"
    assert e.fields == ("dtype",)
    assert e.message == f"tensor dtype numpy.{np_dtype} does not match the descriptor's {dtype} (numpy.{want})"


def test_numpy_bf16_raw_bits_accepted():
    assert fqk.KvDType.bf16.numpy_dtype is None
    assert make("bf16").check_tensor(np.zeros(SHAPE, dtype=np.uint16)) is None


@pytest.mark.parametrize("np_dtype", ["float16", "float32", "int16", "uint8", "uint32"])
def test_numpy_bf16_other_dtypes_refused(np_dtype):
    e = mismatch(lambda: make("bf16").check_tensor(np.zeros(SHAPE, dtype=np_dtype)))
    assert e.rule == "tensor.dtype"
    assert e.fields == ("dtype",)
    assert e.message == (f"tensor dtype numpy.{np_dtype} does not match the descriptor's bf16: numpy has no bf16 "
                         "dtype, so it must be numpy.bfloat16 or its raw bits as numpy.uint16")


def test_numpy_bf16_shape_still_checked():
    e = mismatch(lambda: make("bf16").check_tensor(np.zeros((1, 2, 2, 3, 5), dtype=np.uint16)))
    assert_shape_mismatch(e, (1, 2, 2, 3, 5))


def test_numpy_views_and_scalars():
    s = make("f32")
    big = np.zeros((2, 2, 2, 3, 4), dtype=np.float32)
    assert s.check_tensor(big[:1]) is None  # a view of the right shape
    # a numpy scalar is a 0-d array to numpy, and so to check_tensor
    assert_shape_mismatch(mismatch(lambda: s.check_tensor(np.float32(1.0))), ())
    assert_shape_mismatch(mismatch(lambda: s.check_tensor(np.array(1.0, dtype=np.float32))), ())


def test_numpy_transposed_view_of_the_right_shape_is_refused():
    # A (1, 2, 2, 4, 3) array transposed to (1, 2, 2, 3, 4): the shape is right, the element order is not.
    t = np.zeros((1, 2, 2, 4, 3), dtype=np.float32).swapaxes(3, 4)
    e = mismatch(lambda: make("f32").check_tensor(t))
    assert e.rule == "tensor.strides"
    assert e.fields == DIM_FIELDS
    assert e.message == ("tensor strides (48, 24, 12, 1, 3) (in elements) are not the row-major strides "
                         "(48, 24, 12, 4, 1) of the descriptor's layout (1, 2, 2, 3, 4): a transposed or strided "
                         "view holds its elements in another order (make it contiguous first)")
    assert make("f32").check_tensor(np.ascontiguousarray(t)) is None
    # every other token: the right shape, strided
    e = mismatch(lambda: make("f32").check_tensor(np.zeros((1, 2, 2, 6, 4), dtype=np.float32)[:, :, :, ::2]))
    assert e.rule == "tensor.strides"


# ---------------------------------------------------------------------------------------------- torch
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype,torch_name", [("bf16", "bfloat16"), ("f16", "float16"), ("f32", "float32")])
def test_torch_match(torch, dtype, torch_name):
    s = make(dtype)
    t = torch.zeros(SHAPE, dtype=getattr(torch, torch_name))
    assert s.check_tensor(t) is None
    assert s.check_tensor(t.view(SHAPE)) is None


def test_torch_bf16_descriptor_refuses_float16(torch):
    e = mismatch(lambda: make("bf16").check_tensor(torch.zeros(SHAPE, dtype=torch.float16)))
    assert e.rule == "tensor.dtype"
    assert e.fields == ("dtype",)
    assert e.message == "tensor dtype torch.float16 does not match the descriptor's bf16 (torch.bfloat16)"


@pytest.mark.parametrize("dtype,torch_name", [("f16", "bfloat16"), ("f32", "float64"), ("bf16", "int16"),
                                              ("bf16", "float32")])
def test_torch_dtype_mismatch(torch, dtype, torch_name):
    want = fqk.KvDType.from_wire_name(dtype).torch_dtype
    e = mismatch(lambda: make(dtype).check_tensor(torch.zeros(SHAPE, dtype=getattr(torch, torch_name))))
    assert e.rule == "tensor.dtype"
    assert e.message == f"tensor dtype torch.{torch_name} does not match the descriptor's {dtype} (torch.{want})"


@pytest.mark.parametrize("shape", [(1, 2, 2, 3), (1, 2, 2, 3, 8), (4, 2, 2, 3, 4), ()])
def test_torch_shape_mismatch(torch, shape):
    e = mismatch(lambda: make("bf16").check_tensor(torch.zeros(shape, dtype=torch.bfloat16)))
    assert_shape_mismatch(e, shape)


def test_torch_transposed_view_is_refused(torch):
    # The case: torch.empty((1, 2, 2, 16, 8)).transpose(3, 4) has the shape of a descriptor with tokens 8
    # and head_dim 16, and its bytes in the other order.
    s = make("f32", tokens=8, head_dim=16)
    t = torch.empty((1, 2, 2, 16, 8)).transpose(3, 4)
    e = mismatch(lambda: s.check_tensor(t))
    assert e.rule == "tensor.strides"
    assert "tensor strides (512, 256, 128, 1, 8) (in elements)" in e.message
    assert s.check_tensor(t.contiguous()) is None
    # size-1 dimensions may have any stride: a view that only adds one is still row-major
    assert s.check_tensor(torch.empty((2, 2, 8, 16)).unsqueeze(0)) is None


def test_torch_meta_tensor(torch):
    # a tensor without storage is checked by its shape and dtype alone
    assert make("bf16").check_tensor(torch.empty(SHAPE, dtype=torch.bfloat16, device="meta")) is None


# ---------------------------------------------------------------------------------------------- not tensors, bad descriptors
@pytest.mark.parametrize("obj", [None, [[1]], (1, 2, 2, 3, 4), 1.5, "tensor", b"\0" * 96, memoryview(b"\0" * 96)],
                         ids=["None", "list", "tuple", "float", "str", "bytes", "memoryview"])
def test_not_a_tensor(obj):
    with pytest.raises(TypeError) as info:
        make("f16").check_tensor(obj)
    assert str(info.value).startswith("check_tensor: expected a tensor of torch or numpy, got ")


def test_tensor_like_object_of_another_library():
    class Fake:
        shape = SHAPE
        dtype = "float16"

    with pytest.raises(TypeError):
        make("f16").check_tensor(Fake())


@pytest.mark.parametrize("changes,rule", [(dict(batch=0), "batch.nonzero"),
                                          (dict(attention_kind="mha"), "mha.heads_equal"),
                                          (dict(role="value"), "value.rope_not_applicable"),
                                          (dict(schema_version="v0"), "schema_version.matches")])
def test_invalid_descriptor_first(changes, rule):
    s = make("f16", **changes)
    with pytest.raises(fqk.DescriptorError) as want:
        s.validate()
    assert want.value.rule == rule
    for tensor in (np.zeros(s.tensor_shape, dtype=np.float16), np.zeros((1,), dtype=np.float32)):
        with pytest.raises(fqk.DescriptorError) as info:
            s.check_tensor(tensor)
        assert info.value.kind == fqk.ErrorKind.corrupt_payload
        assert (info.value.rule, info.value.message) == (rule, want.value.message)
        assert str(info.value) == str(want.value)
    # validation comes before the type check too
    with pytest.raises(fqk.DescriptorError):
        s.check_tensor(None)
