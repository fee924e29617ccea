#include "core/sealed_exe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "core/errors.h"
#include "core/unique_fd.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace berth {
namespace {

struct Cached {
  int fd;
  dev_t dev;
  ino_t ino;
  struct timespec mtime;
};

bool sameFile(const Cached& c, const struct stat& st) {
  return c.dev == st.st_dev && c.ino == st.st_ino && c.mtime.tv_sec == st.st_mtim.tv_sec &&
         c.mtime.tv_nsec == st.st_mtim.tv_nsec;
}

std::string baseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int makeSealedCopy(const std::string& path, int src, const struct stat& st) {
  std::string name = baseName(path);
  // MFD_EXEC: kernels with vm.memfd_noexec would otherwise make the copy non-executable; older
  // kernels do not know the flag (EINVAL) and every memfd is executable there.
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throwSys(errno, "memfd_create", path);
  UniqueFd copy(fd);
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = sendfile(copy.get(), src, &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwSys(errno, "sendfile", path);
    if (n == 0) throwSys(EIO, "sendfile", path);  // the file shrank under us
  }
  if (fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    throwSys(errno, "seal memfd", path);
  return copy.release();
}

}  // namespace

int sealedExecutable(const std::string& path) {
  static std::mutex lock;
  static std::map<std::string, Cached> cache;
  UniqueFd src(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) throwSys(errno, "open", path);
  struct stat st;
  if (fstat(src.get(), &st) < 0) throwSys(errno, "fstat", path);
  std::lock_guard<std::mutex> guard(lock);
  auto it = cache.find(path);
  if (it != cache.end() && sameFile(it->second, st)) return it->second.fd;
  int fd = makeSealedCopy(path, src.get(), st);
  if (it != cache.end()) close(it->second.fd);
  cache[path] = Cached{fd, st.st_dev, st.st_ino, st.st_mtim};
  return fd;
}

}  // namespace berth
