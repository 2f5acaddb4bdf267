// Options more than one kvshape command takes (see commands.hpp).
#include <charconv>
#include <cstdio>
#include <iterator>
#include <string>
#include <system_error>

#include "cli/commands.hpp"

namespace kvshape {

std::string human_bytes(std::uint64_t bytes) {
    static constexpr std::string_view units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes).append(" B");
    std::size_t u = 1;
    while (u + 1 < std::size(units) && (bytes >> (10 * (u + 1))) != 0) ++u;
    char buf[48];
    const int n =
        std::snprintf(buf, sizeof buf, "%.1f %s",
                      static_cast<double>(bytes) / static_cast<double>(std::uint64_t{1} << (10 * u)), units[u].data());
    return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
    std::uint32_t value = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), value, 10);
    if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size()) return std::nullopt;
    return value;
}

CLI::Validator u32_validator() {
    return CLI::Validator(
        [](std::string& text) {
            return parse_u32(text) ? std::string() : "expected a whole number from 0 to 4294967295, got '" + text + "'";
        },
        "U32");
}

void add_block_dim_option(CLI::App& command, std::optional<std::uint32_t>& target) {
    command
        .add_option_function<std::string>(
            "--block-dim", [&target](const std::string& text) { target = parse_u32(text); },
            "also require head_dim to be a multiple of B (0 never is)")
        ->type_name("B")
        ->check(u32_validator());
}

}  // namespace kvshape
