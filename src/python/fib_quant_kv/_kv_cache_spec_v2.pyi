# Type stubs of what src/python/kv_cache_spec_v2.cpp adds to KvCacheSpecV2 (the handwritten half of the v2 cache
# spec's class): the generated __init__.pyi makes KvCacheSpecV2 a subclass of KvCacheSpecV2Handwritten. Stub only.
from typing import Any

from . import KvCacheSpecV2, KvDim, KvRole, KvRopeState, KvTensorShapeV1

class KvCacheSpecV2Handwritten:
    def compat(self, reader: KvCacheSpecV2) -> list[tuple[str, str, str]]:
        """Why a cache written under this spec cannot be read under `reader`: (path, this spec's value, reader's
        value) per difference, values as JSON text, as `kvshape compat` prints them; [] when it can be read.
        Validates both first."""
    @staticmethod
    def upgrade(v1: KvTensorShapeV1, *, value_key_rope: KvRopeState | str = ...) -> KvCacheSpecV2:
        """The v2 spec of the cache a valid v1 descriptor describes, as `kvshape upgrade`."""
    def stored_tensors(self, layer: int) -> list[tuple[KvRole | None, tuple[KvDim, ...], tuple[int, ...]]]:
        """The tensors layer `layer` is stored as: (role, dims, shape) each, shape in elements."""
    def check_tensor(self, tensor: Any, *, layer: int, role: KvRole | str | None = None) -> None:
        """Validates, then checks a numpy array or torch tensor against the tensor layer `layer` is stored as:
        shape, dtype and row-major strides; DescriptorError (tensor_mismatch) names a mismatch."""
