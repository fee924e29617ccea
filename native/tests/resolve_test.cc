// resolveInRoot (native/core/resolve.cc) on a tree each case builds in a fresh temporary directory.
// The contract under test: symlinks are followed as the container will see them (an absolute link
// restarts at the root), a `..` or link that climbs above the root is refused with EXDEV rather than
// clamped, at most 40 links are followed, and missing components are created only when asked.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/spawn.h"
#include "core/unique_fd.h"
#include "tests/check.h"

namespace berth::test {
namespace {

// Deletes what dirfd holds, through fds so that trees deeper than PATH_MAX go too.
void removeContents(int dirfd) {
  int dupfd = dup(dirfd);
  DIR* d = dupfd < 0 ? nullptr : fdopendir(dupfd);
  if (!d) return;
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (e->d_type == DT_DIR) {
      UniqueFd sub(openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) removeContents(sub.get());
      unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd, e->d_name, 0);
    }
  }
  closedir(d);
}

// The rootfs of one case: a new directory under /tmp, removed with everything in it afterwards.
class Root {
 public:
  Root() {
    char tmpl[] = "/tmp/berth-native-XXXXXX";
    if (!mkdtemp(tmpl)) fail(__FILE__, __LINE__, std::string("mkdtemp: ") + strerror(errno));
    path_ = tmpl;
    fd_.reset(open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  ~Root() {
    removeContents(fd_.get());
    rmdir(path_.c_str());
  }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  void dir(const char* p) const { must(mkdirat(fd(), p, 0755), "mkdir", p); }
  void file(const char* p, const std::string& content = "") const {
    UniqueFd f(openat(fd(), p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
    must(f.get(), "create", p);
    must(static_cast<int>(write(f.get(), content.data(), content.size())), "write", p);
  }
  void link(const char* p, const std::string& target) const { must(symlinkat(target.c_str(), fd(), p), "symlink", p); }

 private:
  static void must(int r, const char* what, const char* p) {
    if (r < 0) fail(__FILE__, __LINE__, std::string(what) + " " + p + ": " + strerror(errno));
  }
  std::string path_;
  UniqueFd fd_;
};

// "ok" or the errno's name: a failed CHECK_EQ then reads "got ELOOP, want EXDEV".
std::string outcome(const Root& r, const std::string& path, int create = 0) {
  int fd = resolveInRoot(r.fd(), path.c_str(), create);
  if (fd >= 0) {
    close(fd);
    return "ok";
  }
  const char* name = strerrorname_np(-fd);
  return name ? name : std::to_string(fd);
}

struct stat statFd(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) fail(__FILE__, __LINE__, std::string("fstat: ") + strerror(errno));
  return st;
}

// Whether `path` resolves (with `create`) to the very inode at `expected` (relative to the root,
// not followed; "" is the root itself).
bool resolvesTo(const Root& r, const std::string& path, const char* expected, int create = 0) {
  UniqueFd fd(resolveInRoot(r.fd(), path.c_str(), create));
  if (!fd.valid()) fail(__FILE__, __LINE__, "resolveInRoot(" + quote(path) + ") = " + strerrorname_np(-fd.get()));
  struct stat want;
  if (fstatat(r.fd(), expected, &want, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
    fail(__FILE__, __LINE__, std::string("stat ") + expected + ": " + strerror(errno));
  struct stat got = statFd(fd.get());
  return got.st_dev == want.st_dev && got.st_ino == want.st_ino;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; i++) out += s;
  return out;
}

bool existsAt(const Root& r, const char* p, mode_t type) {
  struct stat st;
  return fstatat(r.fd(), p, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}

}  // namespace

TEST_CASE(resolve_plain_paths) {
  Root r;
  r.dir("a");
  r.dir("a/b");
  r.file("a/b/f");
  CHECK(resolvesTo(r, "a/b", "a/b"));
  // Leading, repeated and trailing slashes and `.` components change nothing.
  CHECK(resolvesTo(r, "/a//./b/", "a/b"));
  CHECK(resolvesTo(r, "a/b/f", "a/b/f"));
  CHECK(resolvesTo(r, "a/b/../b/./f", "a/b/f"));
  CHECK_EQ(outcome(r, "a/b/missing"), "ENOENT");
}

TEST_CASE(resolve_root_itself) {
  Root r;
  r.dir("a");
  for (const char* p : {"", "/", ".", "//./", "a/..", "a/../."}) CHECK(resolvesTo(r, p, ""));
}

TEST_CASE(resolve_dotdot_at_root_is_exdev) {
  Root r;
  r.dir("a");
  r.dir("a/b");
  // Refused, not clamped to the root as a kernel lookup would: "../a" must not quietly become "a".
  for (const char* p : {"..", "/..", "./..", "../a", "a/../..", "a/b/../../..", "a/b/../../../a"})
    CHECK_EQ(outcome(r, p), "EXDEV");
}

TEST_CASE(resolve_relative_link_climbing_out_is_exdev) {
  Root r;
  r.dir("a");
  r.dir("b");
  r.link("a/up", "../../..");
  r.link("a/sibling", "../b");
  r.link("esc", "..");
  r.link("a/escdeep", "../b/../../etc");
  CHECK_EQ(outcome(r, "a/up"), "EXDEV");
  CHECK_EQ(outcome(r, "esc"), "EXDEV");
  CHECK_EQ(outcome(r, "esc/x", 1), "EXDEV");  // nothing is created outside either
  CHECK_EQ(outcome(r, "a/escdeep"), "EXDEV");
  CHECK(resolvesTo(r, "a/sibling", "b"));  // a link that stays inside is fine
}

TEST_CASE(resolve_absolute_link_restarts_at_root) {
  Root r;
  r.dir("run");
  r.dir("var");
  r.link("var/run", "/run");
  r.link("passwd", "/etc/passwd");  // exists on the host, not in this root
  r.link("absup", "/../etc");
  CHECK(resolvesTo(r, "var/run", "run"));  // the root's /run, not the host's
  CHECK(resolvesTo(r, "/var/run/", "run"));
  CHECK_EQ(outcome(r, "passwd"), "ENOENT");
  CHECK_EQ(outcome(r, "absup"), "EXDEV");
}

TEST_CASE(resolve_final_symlink_is_followed) {
  Root r;
  r.dir("a");
  r.dir("b");
  r.file("b/f", "x");
  r.link("a/final", "../b");
  r.link("flink", "b/f");
  r.link("chain", "flink");
  CHECK(resolvesTo(r, "a/final", "b"));
  CHECK(resolvesTo(r, "chain", "b/f"));
  UniqueFd fd(resolveInRoot(r.fd(), "a/final", 0));
  CHECK(fd.valid());
  CHECK(S_ISDIR(statFd(fd.get()).st_mode));  // the target, never the link itself
}

TEST_CASE(resolve_symlink_loops_are_eloop) {
  Root r;
  r.dir("a");
  r.link("l1", "l2");
  r.link("l2", "/l1");
  r.link("self", "self");
  r.link("a/round", "../a/round");
  CHECK_EQ(outcome(r, "l1"), "ELOOP");
  CHECK_EQ(outcome(r, "self"), "ELOOP");
  CHECK_EQ(outcome(r, "l1/x"), "ELOOP");
  CHECK_EQ(outcome(r, "a/round"), "ELOOP");
  CHECK_EQ(outcome(r, "self", 1), "ELOOP");  // create never replaces a looping link
}

TEST_CASE(resolve_follows_at_most_40_links) {
  Root r;
  r.dir("a");
  // c0 -> c1 -> ... -> c40 -> a: "c1" takes 40 links, "c0" one too many.
  for (int i = 0; i <= 40; i++) {
    std::string name = "c" + std::to_string(i);
    r.link(name.c_str(), i == 40 ? "a" : "c" + std::to_string(i + 1));
  }
  CHECK(resolvesTo(r, "c1", "a"));
  CHECK_EQ(outcome(r, "c0"), "ELOOP");
}

TEST_CASE(resolve_enametoolong) {
  Root r;
  r.dir("a");
  // The path buffer holds 8191 bytes and a NUL.
  CHECK(resolvesTo(r, repeat("./", 4095) + "a", "a"));
  CHECK_EQ(outcome(r, repeat("./", 4096)), "ENAMETOOLONG");
  // One component over NAME_MAX (the kernel's answer).
  CHECK_EQ(outcome(r, std::string(256, 'n')), "ENAMETOOLONG");
  // The canonical path may not pass PATH_MAX, even while creating it.
  CHECK_EQ(outcome(r, repeat(std::string(200, 'd') + "/", 25), 1), "ENAMETOOLONG");
  // A link's target joined with the rest of the path must fit too; joined, it would be ENOENT.
  r.link("long", repeat("x/", 2000));
  CHECK_EQ(outcome(r, "long/" + repeat("./", 2000)), "ENOENT");
  CHECK_EQ(outcome(r, "long/" + repeat("./", 3500)), "ENAMETOOLONG");
}

TEST_CASE(resolve_creates_directories) {
  Root r;
  r.dir("a");
  r.link("lnk", "/a");
  CHECK(resolvesTo(r, "new/deep/dir", "new/deep/dir", 1));
  CHECK(existsAt(r, "new", S_IFDIR));
  CHECK(existsAt(r, "new/deep/dir", S_IFDIR));
  // Through a link: created where the link leads, inside the root.
  CHECK(resolvesTo(r, "lnk/made", "a/made", 1));
  CHECK(existsAt(r, "a/made", S_IFDIR));
  CHECK(resolvesTo(r, "a", "a", 1));  // existing: no error
}

TEST_CASE(resolve_creates_file) {
  Root r;
  r.file("keep", "content");
  CHECK(resolvesTo(r, "nf/sub/file", "nf/sub/file", 2));
  CHECK(existsAt(r, "nf/sub", S_IFDIR));  // the parents are directories, the last a file
  CHECK(existsAt(r, "nf/sub/file", S_IFREG));
  UniqueFd fd(resolveInRoot(r.fd(), "keep", 2));
  CHECK(fd.valid());
  CHECK_EQ(statFd(fd.get()).st_size, 7);  // an existing file is not truncated
}

TEST_CASE(resolve_create_through_dangling_absolute_link) {
  Root r;
  // A unique absolute name: had the link been followed on the host, /<name> would appear there.
  std::string name = r.path().substr(r.path().rfind('/') + 1) + "-host";
  r.link("dangle", "/" + name + "/here");
  CHECK_EQ(outcome(r, "dangle", 2), "ok");
  CHECK(existsAt(r, name.c_str(), S_IFDIR));
  CHECK(existsAt(r, (name + "/here").c_str(), S_IFREG));
  CHECK(access(("/" + name).c_str(), F_OK) != 0);
}

TEST_CASE(resolve_missing_without_create) {
  Root r;
  r.file("f");
  CHECK_EQ(outcome(r, "missing/x"), "ENOENT");
  CHECK(!existsAt(r, "missing", S_IFDIR));  // nothing made on the way
  CHECK_EQ(outcome(r, "f/x"), "ENOTDIR");
  CHECK_EQ(outcome(r, "f/x", 1), "ENOTDIR");
}

}  // namespace berth::test
