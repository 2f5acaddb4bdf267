// fib_quant_kv: the traits the generated code is written against.
//
// EnumTraits<E>: specialised by the generated headers for every schema enum with its name, its values and
// their wire names (Zserio's EnumTraits, FlatBuffers' EnumValues/EnumNames).
// StructTraits<S>: the same for every schema struct: its name and its field names in order.
// detail::Fields<S>: specialised for every schema struct and for every view of one (the FlatBuffers view), with
// one static accessor per field; the generated rules, counts and encoders read fields only through it, so the
// same code serves a native struct and a zero-copy view.
#pragma once

namespace fib_quant_kv {

template <class E>
struct EnumTraits;

template <class S>
struct StructTraits;

namespace detail {
template <class S>
struct Fields;
}  // namespace detail

}  // namespace fib_quant_kv
