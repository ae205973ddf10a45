// A measured command that leaves processes behind, for the tests of process control.
//
//   leave_children PIDFILE [--hold] KIND...
//
// Starts one leftover per KIND, each of which appends its pid to PIDFILE (one per line) and then
// waits forever; exits once all have written, unless --hold, which makes it wait forever too
// (after appending its own pid). KIND:
//   background    a plain child in our process group
//   ignore-term   a child that ignores SIGTERM
//   double-fork   a grandchild in a new session (setsid), whose parent exits at once: it is
//                 neither in our process group nor our descendant any more
//   orphan-group  like double-fork, but only a new process group (setpgid), and it ignores SIGTERM
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

void append_pid(const char* file) {
  const int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) _exit(3);
  const std::string line = std::to_string(getpid()) + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(3);
  close(fd);
}

[[noreturn]] void wait_forever(const char* file, int ready_fd) {
  append_pid(file);
  const char byte = 'r';
  if (write(ready_fd, &byte, 1) != 1) _exit(3);
  close(ready_fd);
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: leave_children PIDFILE [--hold] KIND...\n");
    return 2;
  }
  const char* file = argv[1];
  int ready[2];
  if (pipe(ready) != 0) return 3;
  bool hold = false;
  int expected = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string kind = argv[i];
    if (kind == "--hold") {
      hold = true;
      continue;
    }
    ++expected;
    const pid_t pid = fork();
    if (pid < 0) return 3;
    if (pid != 0) {
      if (kind == "double-fork" || kind == "orphan-group") waitpid(pid, nullptr, 0);
      continue;
    }
    close(ready[0]);
    if (kind == "background") wait_forever(file, ready[1]);
    if (kind == "ignore-term") {
      signal(SIGTERM, SIG_IGN);
      wait_forever(file, ready[1]);
    }
    if (kind == "double-fork" || kind == "orphan-group") {
      if (fork() != 0) _exit(0);
      if (kind == "double-fork") {
        setsid();
      } else {
        setpgid(0, 0);
        signal(SIGTERM, SIG_IGN);
      }
      wait_forever(file, ready[1]);
    }
    std::fprintf(stderr, "leave_children: unknown kind '%s'\n", kind.c_str());
    _exit(2);
  }
  close(ready[1]);
  for (int got = 0; got < expected;) {
    char byte;
    const ssize_t n = read(ready[0], &byte, 1);
    if (n <= 0) return 3;
    ++got;
  }
  if (hold) {
    append_pid(file);
    for (;;) pause();
  }
  return 0;
}
