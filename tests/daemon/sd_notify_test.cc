// sd_notify without libsystemd: each test binds its own AF_UNIX datagram socket (a path
// in a fresh temporary directory, or an abstract name) and reads what was sent, as the
// service manager would.

#include "mscred/daemon/sd_notify.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

using namespace mscred::daemon;

// A bound datagram socket standing in for systemd's notify socket.
class FakeNotifySocket {
 public:
  // abstract = true binds "\0name" and NOTIFY_SOCKET gets the '@' spelling.
  explicit FakeNotifySocket(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0) << std::strerror(errno);

    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len = 0;
    if (abstract) {
      const std::string name = "mscred-notify-test-" + std::to_string(::getpid());
      addr.sun_path[0] = '\0';
      std::memcpy(addr.sun_path + 1, name.data(), name.size());
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
      env_ = "@" + name;
    } else {
      char dir_template[] = "/tmp/mscred-notify-XXXXXX";
      const char* dir = ::mkdtemp(dir_template);
      EXPECT_NE(dir, nullptr) << std::strerror(errno);
      dir_ = dir;
      env_ = dir_ + "/notify";
      std::memcpy(addr.sun_path, env_.data(), env_.size());
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + env_.size() + 1);
    }
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len), 0)
        << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", env_.c_str(), 1);
  }

  ~FakeNotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    if (fd_ >= 0) ::close(fd_);
    if (!dir_.empty()) {
      ::unlink(env_.c_str());
      ::rmdir(dir_.c_str());
    }
  }

  // The next datagram, or "<timeout>" after a second.
  std::string receive() {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 1000) != 1) return "<timeout>";
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    return n < 0 ? "<error>" : std::string(buffer, static_cast<size_t>(n));
  }

  const std::string& env() const { return env_; }

 private:
  int fd_ = -1;
  std::string dir_;
  std::string env_;
};

TEST(SdNotifyTest, UnsetSocketIsANoOp) {
  ::unsetenv("NOTIFY_SOCKET");
  const NotifyResult result = notify_ready();
  EXPECT_EQ(result.outcome, NotifyOutcome::kNoSocket);
  EXPECT_TRUE(result.ok());
}

TEST(SdNotifyTest, ReadyReachesAPathSocket) {
  FakeNotifySocket socket(false);
  EXPECT_EQ(notify_ready().outcome, NotifyOutcome::kSent);
  EXPECT_EQ(socket.receive(), "READY=1");
}

TEST(SdNotifyTest, ReadyReachesAnAbstractSocket) {
  FakeNotifySocket socket(true);
  ASSERT_EQ(socket.env().front(), '@');
  EXPECT_EQ(notify_ready().outcome, NotifyOutcome::kSent);
  EXPECT_EQ(socket.receive(), "READY=1");
}

TEST(SdNotifyTest, ReadyCarriesStatusOnItsOwnLine) {
  FakeNotifySocket socket(false);
  notify_ready("serving 3 entities");
  EXPECT_EQ(socket.receive(), "READY=1\nSTATUS=serving 3 entities");
}

TEST(SdNotifyTest, StatusNewlinesCannotInjectAssignments) {
  FakeNotifySocket socket(false);
  notify_status("ok\nREADY=1");
  EXPECT_EQ(socket.receive(), "STATUS=ok READY=1");
}

TEST(SdNotifyTest, StoppingAndWatchdogMessages) {
  FakeNotifySocket socket(false);
  notify_stopping();
  EXPECT_EQ(socket.receive(), "STOPPING=1");
  notify_watchdog();
  EXPECT_EQ(socket.receive(), "WATCHDOG=1");
}

TEST(SdNotifyTest, ExtendTimeoutSendsMicroseconds) {
  FakeNotifySocket socket(false);
  notify_extend_timeout(std::chrono::seconds(30));
  EXPECT_EQ(socket.receive(), "EXTEND_TIMEOUT_USEC=30000000");
}

TEST(SdNotifyTest, MissingSocketIsAnErrorNamingIt) {
  ::setenv("NOTIFY_SOCKET", "/nonexistent-dir-mscred/notify", 1);
  const NotifyResult result = notify_ready();
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(result.outcome, NotifyOutcome::kError);
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.error.find("/nonexistent-dir-mscred/notify"), std::string::npos) << result.error;
}

TEST(SdNotifyTest, RelativeNameIsRejected) {
  ::setenv("NOTIFY_SOCKET", "relative/notify", 1);
  const NotifyResult result = notify_watchdog();
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(result.outcome, NotifyOutcome::kError);
}

TEST(SdNotifyTest, WatchdogIntervalUnsetIsNullopt) {
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EXPECT_FALSE(watchdog_interval().has_value());
}

TEST(SdNotifyTest, WatchdogIntervalReadsMicroseconds) {
  ::setenv("WATCHDOG_USEC", "15000000", 1);
  ::unsetenv("WATCHDOG_PID");
  const auto interval = watchdog_interval();
  ASSERT_TRUE(interval.has_value());
  EXPECT_EQ(interval->count(), 15000000);
  ::unsetenv("WATCHDOG_USEC");
}

TEST(SdNotifyTest, WatchdogIntervalForThisPid) {
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  const auto interval = watchdog_interval();
  ASSERT_TRUE(interval.has_value());
  EXPECT_EQ(*interval, std::chrono::seconds(2));
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST(SdNotifyTest, WatchdogIntervalForAnotherPidIsNullopt) {
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_FALSE(watchdog_interval().has_value());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST(SdNotifyTest, WatchdogIntervalRejectsGarbageAndZero) {
  ::unsetenv("WATCHDOG_PID");
  for (const char* bad : {"", "abc", "12s", "0", "-5"}) {
    ::setenv("WATCHDOG_USEC", bad, 1);
    EXPECT_FALSE(watchdog_interval().has_value()) << "'" << bad << "'";
  }
  ::unsetenv("WATCHDOG_USEC");
}

}  // namespace
