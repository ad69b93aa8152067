#include "mscred/daemon/sd_notify.h"

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace mscred::daemon {
namespace {

// Closes the descriptor on every return path.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

NotifyResult failure(const std::string& socket_name, const char* what, int err) {
  return {NotifyOutcome::kError, "sd_notify: " + std::string(what) + " on NOTIFY_SOCKET '" +
                                     socket_name + "': " + std::strerror(err)};
}

std::string with_status(std::string_view first, std::string_view status) {
  std::string state(first);
  if (!status.empty()) {
    // A newline would start a new assignment, which the status text must not do.
    std::string line(status);
    for (char& c : line) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    state += "\nSTATUS=" + line;
  }
  return state;
}

}  // namespace

NotifyResult notify(std::string_view state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || *env == '\0') return {};
  const std::string name(env);

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.front() != '/' && name.front() != '@') {
    return {NotifyOutcome::kError,
            "sd_notify: NOTIFY_SOCKET '" + name + "' is neither a path nor an abstract name"};
  }
  if (name.size() > sizeof(addr.sun_path)) {
    return {NotifyOutcome::kError, "sd_notify: NOTIFY_SOCKET '" + name + "' is too long"};
  }
  std::memcpy(addr.sun_path, name.data(), name.size());
  // Abstract names start with a NUL byte and are not NUL-terminated; their length is
  // carried by the address length alone.
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());

  FdGuard fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return failure(name, "socket()", errno);

  const ssize_t sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&addr), addr_len);
  if (sent < 0) return failure(name, "sendto()", errno);
  if (static_cast<std::size_t>(sent) != state.size()) {
    return {NotifyOutcome::kError, "sd_notify: short write to NOTIFY_SOCKET '" + name + "'"};
  }
  return {NotifyOutcome::kSent, {}};
}

NotifyResult notify_ready(std::string_view status) {
  return notify(with_status("READY=1", status));
}

NotifyResult notify_stopping(std::string_view status) {
  return notify(with_status("STOPPING=1", status));
}

NotifyResult notify_watchdog() {
  return notify("WATCHDOG=1");
}

NotifyResult notify_status(std::string_view status) {
  std::string state = with_status("", status);
  // with_status() put a separator before STATUS; a lone assignment needs none.
  if (!state.empty() && state.front() == '\n') state.erase(0, 1);
  return notify(state);
}

NotifyResult notify_extend_timeout(std::chrono::microseconds extra) {
  return notify("EXTEND_TIMEOUT_USEC=" + std::to_string(extra.count()));
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  const auto parse = [](const char* text, long long& out) {
    if (text == nullptr || *text == '\0') return false;
    const char* end = text + std::strlen(text);
    const auto [ptr, ec] = std::from_chars(text, end, out);
    return ec == std::errc() && ptr == end;
  };

  long long usec = 0;
  if (!parse(std::getenv("WATCHDOG_USEC"), usec) || usec <= 0) return std::nullopt;

  // WATCHDOG_PID guards against a child inheriting its parent's watchdog.
  const char* pid_text = std::getenv("WATCHDOG_PID");
  if (pid_text != nullptr) {
    long long pid = 0;
    if (!parse(pid_text, pid) || pid != static_cast<long long>(::getpid())) return std::nullopt;
  }
  return std::chrono::microseconds(usec);
}

}  // namespace mscred::daemon
