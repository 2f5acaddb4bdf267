// fib_quant_kv: the traits the generated code is written against.
//
// EnumTraits<E>: specialised by the generated headers for every schema enum with its name, its values and
// their wire names (Zserio's EnumTraits, FlatBuffers' EnumValues/EnumNames).
// detail::Fields<S>: specialised for every schema struct and for every view of one (the FlatBuffers view), with
// one static accessor per field; the generated rules, counts and encoders read fields only through it, so the
// same code serves a native struct and a zero-copy view.
#pragma once

namespace fib_quant_kv {

template <class E>
struct EnumTraits;

namespace detail {
template <class S>
struct Fields;
}  // namespace detail

}  // namespace fib_quant_kv
