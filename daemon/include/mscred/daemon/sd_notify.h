#pragma once
// The systemd notification protocol (sd_notify(3)) without libsystemd: one datagram per
// state change to the AF_UNIX socket named by $NOTIFY_SOCKET. The unit runs mscredd with
// Type=notify, so READY=1 is what marks the service started.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mscred::daemon {

//! What a notification did. kNoSocket is the normal case outside systemd (a shell, a
//! container): callers treat it as success.
enum class NotifyOutcome { kSent, kNoSocket, kError };

struct NotifyResult {
  NotifyOutcome outcome = NotifyOutcome::kNoSocket;
  //! Set when outcome is kError: names the socket and the failing call.
  std::string error;

  bool ok() const { return outcome != NotifyOutcome::kError; }
};

//! Sends `state` (newline-separated KEY=VALUE assignments) to $NOTIFY_SOCKET. A name
//! starting with '@' is an abstract socket. Reads the environment on every call, never
//! blocks (datagram, non-blocking socket), safe from any thread. Never throws.
NotifyResult notify(std::string_view state);

//! READY=1, plus STATUS=<status> when given: models loaded and sources connected.
NotifyResult notify_ready(std::string_view status = {});
//! STOPPING=1: shutdown has begun (intake stopped, draining).
NotifyResult notify_stopping(std::string_view status = {});
//! WATCHDOG=1: the loop is alive; send at least every watchdog_interval() / 2.
NotifyResult notify_watchdog();
//! STATUS=<text>: a one-line status shown by `systemctl status`.
NotifyResult notify_status(std::string_view status);
//! EXTEND_TIMEOUT_USEC=<n>: asks for more start-up or stop time (a slow model load or a
//! long drain), so TimeoutStartSec need not cover the worst case.
NotifyResult notify_extend_timeout(std::chrono::microseconds extra);

//! The watchdog interval systemd expects pings within: $WATCHDOG_USEC when it is a
//! positive integer and $WATCHDOG_PID is unset or this process's pid; otherwise nullopt
//! (no watchdog configured, or the variables were inherited from a parent).
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace mscred::daemon
