// The library's files (src/internal/file_io.hpp): the one atomic writer every output goes through (a new file
// with the umask's mode, a replaced one by rename with its mode kept, a hidden O_CLOEXEC temporary file beside
// it, nothing left and nothing touched on failure) and opening for reading, each failure an io Error with its
// exact message.
#define BOOST_TEST_MODULE file_io
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "internal/file_io.hpp"
#include "internal/rule_errors.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using fib_quant_kv::Error;
using fib_quant_kv::ErrorKind;
using fib_quant_kv::Status;
using fib_quant_kv::test::AsNobody;
using fib_quant_kv::test::slurp;
using fib_quant_kv::test::TempDir;
namespace io_rules = fib_quant_kv::io_rules;
namespace fd = fib_quant_kv::detail;

namespace {

std::span<const std::uint8_t> span_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct stat stat_of(const fs::path& p) {
    struct stat st {};
    BOOST_REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

/// Sets the umask for a scope.
class Umask {
  public:
    explicit Umask(mode_t mask) : old_(::umask(mask)) {}
    Umask(const Umask&) = delete;
    Umask& operator=(const Umask&) = delete;
    ~Umask() { ::umask(old_); }

  private:
    mode_t old_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_new_file_gets_0666_less_the_umask) {
    for (const mode_t mask : {mode_t{022}, mode_t{077}, mode_t{002}, mode_t{0}, mode_t{0277}}) {
        TempDir dir;
        const fs::path out = dir.path / "new.bin";
        const std::string bytes = "new contents\n";
        {
            const Umask scope(mask);
            BOOST_REQUIRE(fd::write_file_atomically(out, span_of(bytes)).ok());
        }
        BOOST_TEST(slurp(out) == bytes);
        BOOST_TEST((stat_of(out).st_mode & 07777) == (0666 & ~mask));
        BOOST_TEST(dir.names() == std::vector<std::string>{"new.bin"});
    }
}

BOOST_AUTO_TEST_CASE(an_existing_file_is_replaced_by_rename_keeping_its_mode) {
    TempDir dir;
    const std::string old_bytes = "old contents, longer than the new: " + std::string(4000, 'x');
    const fs::path out = dir.write("out.bin", old_bytes);
    const fs::path link = dir.path / "out.bin.hardlink";
    fs::create_hard_link(out, link);
    BOOST_REQUIRE(::chmod(out.c_str(), 04640) == 0);  // set-uid is not carried over; the permission bits are
    const struct stat before = stat_of(out);
    BOOST_REQUIRE(fd::write_file_atomically(out, span_of(std::string("new"))).ok());
    const struct stat after = stat_of(out);
    BOOST_TEST(slurp(out) == "new");
    BOOST_TEST(after.st_ino != before.st_ino);  // a new file renamed over the name, not the old one truncated
    BOOST_TEST(after.st_nlink == 1u);
    BOOST_TEST((after.st_mode & 07777) == 0640u);
    BOOST_TEST(slurp(link) == old_bytes);  // a reader holding the old file keeps its bytes
    BOOST_TEST(stat_of(link).st_ino == before.st_ino);
    BOOST_TEST(dir.names() == (std::vector<std::string>{"out.bin", "out.bin.hardlink"}));
}

BOOST_AUTO_TEST_CASE(a_symlink_is_replaced_not_followed) {
    TempDir dir;
    const fs::path target = dir.write("target.bin", "target");
    const fs::path out = dir.path / "out.bin";
    fs::create_symlink(target, out);
    BOOST_REQUIRE(fd::write_file_atomically(out, span_of(std::string("new"))).ok());
    BOOST_TEST(!fs::is_symlink(out));
    BOOST_TEST(slurp(out) == "new");
    BOOST_TEST(slurp(target) == "target");
}

BOOST_AUTO_TEST_CASE(the_fill_writes_a_hidden_empty_cloexec_temporary_beside_the_destination) {
    TempDir dir;
    const fs::path out = dir.path / "out.bin";
    std::vector<std::string> names_during;
    const Status written = fd::write_file_atomically(out, [&](int fd) -> Status {
        BOOST_TEST((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
        struct stat st {};
        BOOST_TEST(::fstat(fd, &st) == 0);
        BOOST_TEST(S_ISREG(st.st_mode));
        BOOST_TEST(st.st_size == 0);
        names_during = dir.names();
        return fd::write_all_at(fd, span_of(std::string("abc")), 0, out);
    });
    BOOST_REQUIRE(written.ok());
    BOOST_REQUIRE(names_during.size() == 1u);
    BOOST_TEST(names_during[0].starts_with(".out.bin.tmp."));
    BOOST_TEST(names_during[0].size() == std::string(".out.bin.tmp.").size() + 12);
    BOOST_TEST(dir.names() == std::vector<std::string>{"out.bin"});
    BOOST_TEST(slurp(out) == "abc");
}

BOOST_AUTO_TEST_CASE(a_failing_fill_is_returned_and_touches_nothing) {
    TempDir dir;
    const fs::path out = dir.write("out.bin", "keep me");
    const struct stat before = stat_of(out);
    const Error refused = fd::make_error(ErrorKind::corrupt_payload, "test.refused", "the content is wrong");
    auto fill = [&](int fd) -> Status {
        if (Status st = fd::write_all_at(fd, span_of(std::string("half")), 0, out); !st) return st;
        return refused;
    };
    const Status st = fd::write_file_atomically(out, fill);
    BOOST_REQUIRE(!st.ok());
    BOOST_TEST(st.error() == refused);
    BOOST_TEST(slurp(out) == "keep me");
    BOOST_TEST(stat_of(out).st_ino == before.st_ino);
    BOOST_TEST(stat_of(out).st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    const Status fresh = fd::write_file_atomically(dir.path / "fresh.bin", fill);
    BOOST_REQUIRE(!fresh.ok());
    BOOST_TEST(fresh.error() == refused);
    BOOST_TEST(dir.names() == std::vector<std::string>{"out.bin"});
}

BOOST_AUTO_TEST_CASE(a_missing_folder_is_an_io_error) {
    TempDir dir;
    const fs::path folder = dir.path / "no" / "such";
    const Status st = fd::write_file_atomically(folder / "out.bin", span_of(std::string("x")));
    BOOST_REQUIRE(!st.ok());
    CHECK_ERROR(st.error(), ErrorKind::io, io_rules::open, "",
                "cannot create a temporary file in `" + folder.string() + "`: No such file or directory");
    BOOST_TEST(dir.entries() == 0u);
}

BOOST_AUTO_TEST_CASE(an_unwritable_folder_is_an_io_error_and_its_file_is_kept) {
    TempDir dir;
    const fs::path folder = dir.path / "read_only";
    fs::create_directory(folder);
    const fs::path existing = folder / "existing.bin";
    { std::ofstream(existing, std::ios::binary) << "old"; }
    fs::permissions(folder, fs::perms(0555));
    for (const fs::path& out : {folder / "new.bin", existing}) {
        BOOST_TEST_CONTEXT(out.filename()) {
            const AsNobody nobody;
            const Status st = fd::write_file_atomically(out, span_of(std::string("new")));
            BOOST_REQUIRE(!st.ok());
            CHECK_ERROR(st.error(), ErrorKind::io, io_rules::open, "",
                        "cannot create a temporary file in `" + folder.string() + "`: Permission denied");
        }
        BOOST_TEST(slurp(existing) == "old");
        BOOST_TEST(std::distance(fs::directory_iterator(folder), fs::directory_iterator()) == 1);
    }
}

BOOST_AUTO_TEST_CASE(a_folder_as_the_destination_is_an_io_error) {
    TempDir dir;
    const fs::path folder = dir.path / "out_dir";
    fs::create_directory(folder);
    { std::ofstream(folder / "inside") << "keep"; }
    // The temporary file is made, the rename fails: it is removed again.
    const Status st = fd::write_file_atomically(folder, span_of(std::string("x")));
    BOOST_REQUIRE(!st.ok());
    CHECK_ERROR(st.error(), ErrorKind::io, io_rules::write, "",
                "cannot rename the new file onto `" + folder.string() + "`: Is a directory");
    // "dir/" names no file: refused before anything is made.
    const fs::path slash = folder.string() + "/";
    const Status st2 = fd::write_file_atomically(slash, span_of(std::string("x")));
    BOOST_REQUIRE(!st2.ok());
    CHECK_ERROR(st2.error(), ErrorKind::io, io_rules::open, "", "cannot write `" + slash.string() + "`: Is a directory");
    BOOST_TEST(dir.names() == std::vector<std::string>{"out_dir"});
    BOOST_TEST(std::distance(fs::directory_iterator(folder), fs::directory_iterator()) == 1);
    BOOST_TEST(slurp(folder / "inside") == "keep");
}

BOOST_AUTO_TEST_CASE(opening_for_reading) {
    TempDir dir;
    const fs::path file = dir.write("in.bin", "abc");
    fib_quant_kv::Result<fd::UniqueFd> opened = fd::open_for_reading(file);
    BOOST_REQUIRE(opened.ok());
    BOOST_TEST((::fcntl(opened->get(), F_GETFD) & FD_CLOEXEC) != 0);
    BOOST_TEST(opened->close() == 0);
    BOOST_TEST(opened->get() == -1);

    const fib_quant_kv::Result<fd::UniqueFd> missing = fd::open_for_reading(dir.path / "absent");
    BOOST_REQUIRE(!missing.ok());
    CHECK_ERROR(missing.error(), ErrorKind::io, io_rules::open, "",
                "cannot open `" + (dir.path / "absent").string() + "`: No such file or directory");

    BOOST_REQUIRE(::chmod(file.c_str(), 0) == 0);
    const AsNobody nobody;
    const fib_quant_kv::Result<fd::UniqueFd> unreadable = fd::open_for_reading(file);
    BOOST_REQUIRE(!unreadable.ok());
    CHECK_ERROR(unreadable.error(), ErrorKind::io, io_rules::open, "",
                "cannot open `" + file.string() + "`: Permission denied");
}

BOOST_AUTO_TEST_CASE(io_error_messages) {
    CHECK_ERROR(fd::io_error(io_rules::read, "cannot read " + fd::quote("a`b\n"), EIO), ErrorKind::io,
                io_rules::read, "", "cannot read `a\\x60b\\x0a`: Input/output error");
    BOOST_TEST(fd::quote(std::string(201, 'a')) == "`" + std::string(200, 'a') + "...`");
}
