// Options more than one kvshape command takes (see commands.hpp).
#include <charconv>
#include <string>
#include <system_error>

#include "cli/commands.hpp"

namespace kvshape {

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
