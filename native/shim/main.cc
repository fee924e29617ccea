// berth-shim CONFIG_FILE: the monitor of one detached container (the role conmon plays for
// podman). It leaves the launcher's process tree, starts the container, tells the launcher
// `ok PID STARTTIME` or `err STEP\tERRNO\tINDEX\tPATH` on fd 3, then stays the container's parent
// until its final exit. It never runs Node; keep it small.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "core/plan_codec.h"
#include "shim/config.h"
#include "shim/monitor.h"

using berth::shim::StartError;

namespace {

// Leaves the launcher's process tree and session: the launcher's child exits at once (the
// launcher reaps it), its child carries on in a session of its own with stdio on /dev/null.
void detach() {
  setsid();
  // Pin no directory of the launcher's (a mount could not be unmounted under us).
  if (chdir("/") < 0) _exit(1);
  umask(022);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  // An ignored SIGCHLD (inherited through execve) would have the kernel reap the container
  // before we learn its exit status.
  signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (int fd = 0; fd < 3; fd++)
      if (fd != null) dup2(null, fd);  // dup2 clears CLOEXEC on 0, 1, 2
    if (null > 2) close(null);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // The status pipe: checked before anything else can be opened on fd 3.
  int status = fcntl(3, F_SETFD, FD_CLOEXEC) == 0 ? 3 : -1;
  // Whatever else the launcher leaked to us (Node does not mark every fd close-on-exec) would be
  // held open for the container's whole life: a pipe's reader would never see EOF.
  // fd 4 may be an attach client connected already (config `attached=1`): kept until the config
  // says whether it is one.
  struct stat st;
  bool client = status >= 0 && fstat(4, &st) == 0 && S_ISSOCK(st.st_mode) && fcntl(4, F_SETFD, FD_CLOEXEC) == 0;
  syscall(SYS_close_range, status < 0 ? 3U : client ? 5U : 4U, ~0U, 0U);
  if (argc != 2) {
    static const char usage[] = "usage: berth-shim CONFIG_FILE\n";
    if (write(2, usage, sizeof usage - 1) < 0) {
      // nothing more to say
    }
    berth::shim::reportStatus(status, berth::shim::errorLine(StartError{"usage", EINVAL, -1, ""}));
    return 2;
  }
  berth::shim::Config config;
  berth::SpawnPlan plan;
  try {
    config = berth::shim::readConfig(argv[1]);
    std::string bytes = berth::shim::readWholeFile(config.plan, "plan");
    plan = berth::decodePlan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  } catch (const StartError& e) {
    berth::shim::reportStatus(status, berth::shim::errorLine(e));
    return 1;
  } catch (const berth::PlanFormatError& e) {
    berth::shim::reportStatus(status,
                              berth::shim::errorLine(StartError{"decode plan: " + e.field, EINVAL, -1, config.plan}));
    return 1;
  }

  if (client && !config.attached) close(4);
  pid_t pid = fork();
  if (pid < 0) {
    berth::shim::reportStatus(status, berth::shim::errorLine(StartError{"fork", errno, -1, ""}));
    return 1;
  }
  if (pid > 0) _exit(0);
  detach();
  berth::shim::Monitor monitor(std::move(config), std::move(plan));
  return monitor.run(status);
}
