// kvshape's subcommands as a table. Each lives in its own file, src/cli/commands/<name>.cpp, which defines its
// add_<name>(); main.cpp holds the table (kCommands), sets up the app from it and dispatches. A new subcommand
// is a new file, its add_<name>() declared below, and one row in kCommands.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kvshape {

inline constexpr int kExitValid = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUsage = 2;  // usage or I/O error

/// A command to run once the command line has been parsed into the options it bound: its exit status.
using Run = std::function<int()>;

/// One row of the table.
struct Command {
    std::string_view name;     // the word after `kvshape`
    std::string_view summary;  // its line in `kvshape --help`
    /// Declares the command's options and positionals on its subcommand (bound to state the returned Run owns).
    Run (*add)(CLI::App& command);
};

/// Every subcommand, in the order `kvshape --help` lists them.
[[nodiscard]] std::span<const Command> commands() noexcept;

Run add_check(CLI::App& command);     // commands/check.cpp
Run add_validate(CLI::App& command);  // commands/validate.cpp
Run add_digest(CLI::App& command);    // commands/digest.cpp
Run add_convert(CLI::App& command);   // commands/convert.cpp
Run add_from_hf_config(CLI::App& command);  // commands/from_hf_config.cpp
Run add_checkpoint(CLI::App& command);      // commands/checkpoint.cpp
Run add_upgrade(CLI::App& command);         // commands/upgrade.cpp
Run add_compat(CLI::App& command);          // commands/compat.cpp

// ---------------------------------------------------------------------------------------------- shared options

/// A u32 written in plain decimal digits (leading zeros allowed), as Rust's u32::from_str reads it, without the
/// sign: not empty, no spaces, no "0x", no octal.
[[nodiscard]] std::optional<std::uint32_t> parse_u32(std::string_view text);

/// Checks an option's text with parse_u32(), with the message every u32 option gives.
[[nodiscard]] CLI::Validator u32_validator();

/// `bytes` in 1024 units with one decimal ("512.0 MiB"), or "N B" under 1 KiB, for people.
[[nodiscard]] std::string human_bytes(std::uint64_t bytes);

/// Adds `--block-dim B`, read with parse_u32().
void add_block_dim_option(CLI::App& command, std::optional<std::uint32_t>& target);

}  // namespace kvshape
