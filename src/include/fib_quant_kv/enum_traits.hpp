// fib_quant_kv: EnumTraits<E>, specialised by the generated headers for every schema enum with its name, its
// values and their wire names (Zserio's EnumTraits, FlatBuffers' EnumValues/EnumNames).
#pragma once

namespace fib_quant_kv {

template <class E>
struct EnumTraits;

}  // namespace fib_quant_kv
