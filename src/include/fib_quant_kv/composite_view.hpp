// fib_quant_kv: the zero-copy view of a composite (nested) descriptor inside a verified FlatBuffer.
//
// The generator writes, per struct of a composite schema that holds a string, an array or a nested struct with a
// view, a `FooView` with the native struct's member names, in which
//   * a string is a std::string_view into the buffer;
//   * an array of integers or enum codes is a VectorView<T>, read in place;
//   * an array of structs is a TableVectorView<FooItemView>: the first items as its reader read them, the rest
//     made from their tables when they are read;
//   * a nested struct is its view (or the native struct itself, when it holds only scalars);
//   * scalars, enums and optional scalars are the native struct's, read once when the view is made.
// VectorView and TableVectorView are filled in only by the generated view_*() readers, after the FlatBuffers
// Verifier and the schema's own checks (presence, enum codes, array bounds, UTF-8) have passed over the whole
// buffer, so an item read later cannot fail; default-constructed, they are empty. A view borrows its buffer: the
// bytes must outlive it.
#pragma once

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <type_traits>

namespace fib_quant_kv {

namespace detail {
namespace composite_fb {
struct ViewAccess;  // the readers' key to the views' insides (src/internal/composite_flatbuffers.hpp)
}  // namespace composite_fb

/// The unsigned integer stored little-endian at `p` (as FlatBuffers stores scalars), on any host.
template <std::unsigned_integral T>
[[nodiscard]] inline T load_le(const std::uint8_t* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof(T));
    if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
        T out = 0;
        for (std::size_t k = 0; k < sizeof(T); ++k) out = static_cast<T>((out << 8) | ((v >> (8 * k)) & 0xFF));
        v = out;
    }
    return v;
}
}  // namespace detail

/// A forward iterator over anything with size() and an operator[] that returns by value.
template <class Range>
class IndexIterator {
  public:
    using value_type = std::remove_cvref_t<decltype(std::declval<const Range&>()[0])>;
    using difference_type = std::ptrdiff_t;
    using reference = value_type;
    using pointer = void;
    using iterator_category = std::input_iterator_tag;
    using iterator_concept = std::forward_iterator_tag;

    IndexIterator() = default;
    IndexIterator(const Range* range, std::size_t at) noexcept : range_(range), at_(at) {}
    [[nodiscard]] value_type operator*() const { return (*range_)[at_]; }
    IndexIterator& operator++() noexcept {
        ++at_;
        return *this;
    }
    IndexIterator operator++(int) noexcept {
        IndexIterator was = *this;
        ++at_;
        return was;
    }
    friend bool operator==(const IndexIterator& a, const IndexIterator& b) noexcept { return a.at_ == b.at_; }

  private:
    const Range* range_ = nullptr;
    std::size_t at_ = 0;
};

/// An array of unsigned integers or enum codes inside a verified FlatBuffer, read in place (little-endian, as
/// FlatBuffers stores them). Every enum code was checked to be a value of its enum when the view was made.
template <class T>
    requires std::unsigned_integral<T> || std::is_enum_v<T>
class VectorView {
  public:
    using value_type = T;
    using Code = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>::type;

    VectorView() = default;
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// Item `i` (< size()).
    [[nodiscard]] T operator[](std::size_t i) const noexcept {
        return static_cast<T>(detail::load_le<Code>(data_ + i * sizeof(Code)));
    }
    [[nodiscard]] IndexIterator<VectorView> begin() const noexcept { return {this, 0}; }
    [[nodiscard]] IndexIterator<VectorView> end() const noexcept { return {this, size_}; }
    /// The items themselves, on a little-endian host, for integers no wider than FlatBuffers aligns a vector (4
    /// bytes): the buffer's bytes are then the values.
    [[nodiscard]] const T* data() const noexcept
        requires(std::unsigned_integral<T> && sizeof(T) <= 4 && std::endian::native == std::endian::little)
    {
        return reinterpret_cast<const T*>(data_);
    }
    /// The items' bytes as stored (little-endian).
    [[nodiscard]] const std::uint8_t* bytes() const noexcept { return data_; }

  private:
    friend struct detail::composite_fb::ViewAccess;
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

/// An array of nested structs inside a verified FlatBuffer. The reader that made the view read every item once
/// already (to check it), and kept the first few (kCached, as many as fit in 512 bytes, at most 4: most models'
/// layer groups); item `i` is a copy of that, or, past them, a view made from its table when it is read. Either
/// way nothing is allocated.
template <class V>
class TableVectorView {
  public:
    using value_type = V;
    static constexpr std::size_t kCached = sizeof(V) > 512 ? 0 : (512 / sizeof(V) < 4 ? 512 / sizeof(V) : 4);

    TableVectorView() = default;
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// Item `i` (< size()).
    [[nodiscard]] V operator[](std::size_t i) const {
        if constexpr (kCached != 0) {
            if (i < kCached) return cached_[i];
        }
        V out{};
        make_(table(i), out);
        return out;
    }
    [[nodiscard]] IndexIterator<TableVectorView> begin() const noexcept { return {this, 0}; }
    [[nodiscard]] IndexIterator<TableVectorView> end() const noexcept { return {this, size_}; }

  private:
    friend struct detail::composite_fb::ViewAccess;
    [[nodiscard]] const std::uint8_t* table(std::size_t i) const noexcept {
        const std::uint8_t* const at = data_ + i * 4;
        return at + detail::load_le<std::uint32_t>(at);
    }
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    void (*make_)(const std::uint8_t* table, V& out) = nullptr;
    std::array<V, kCached> cached_{};
};

template <class T>
struct is_vector_view : std::false_type {};
template <class T>
struct is_vector_view<VectorView<T>> : std::true_type {};
template <class T>
struct is_table_vector_view : std::false_type {};
template <class T>
struct is_table_vector_view<TableVectorView<T>> : std::true_type {};

}  // namespace fib_quant_kv
