#pragma once
// HTTP health endpoints of mscredd: /healthz (liveness) and /readyz (readiness), the paths
// the systemd unit, the Docker HEALTHCHECK and the Kubernetes probes point at.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace mscred::daemon {

//! Where and how the health server listens. Defaults match docs/interfaces.md.
struct HealthServerOptions {
  //! An IP literal (IPv4 or IPv6). Loopback by default: the probes run on the same host
  //! or in the same pod, and nothing here needs to be reachable from outside.
  std::string address = "127.0.0.1";
  //! 0 asks the kernel for an ephemeral port (tests); read it back with port().
  uint16_t port = 9465;
  //! Liveness fails when heartbeat() has not been called for this long; zero disables the
  //! check, and then answering at all is the proof that the event loop runs.
  std::chrono::milliseconds liveness_timeout{0};
  //! Per-connection deadline for reading a request and writing the answer, so a client
  //! that opens a socket and sends nothing cannot pin a connection forever.
  std::chrono::milliseconds io_timeout{5000};
  //! Clock behind heartbeat() and the liveness check; injected so tests control time.
  std::function<std::chrono::steady_clock::time_point()> clock;

  //! Parses the config form `host:port` (`127.0.0.1:9465`, `[::1]:9465`, `0.0.0.0:0`).
  //! Throws std::invalid_argument naming the text when it is not of that form.
  static HealthServerOptions from_listen(std::string_view listen);
};

//! Serves /healthz and /readyz over HTTP/1.1 (Boost.Beast).
//!
//! Owns the listening socket and its connections, and, in the first constructor, an
//! io_context and the thread that runs it. The constructor binds and starts accepting
//! (it throws std::runtime_error naming the address when the bind fails), so port() is
//! valid as soon as it returns. set_ready(), heartbeat() and the accessors are thread-safe
//! and never block on the network. The destructor stops accepting and, in the own-thread
//! form, joins the thread.
//!
//! Answers: GET/HEAD /healthz -> 200 {"status":"alive"} or 503 when the heartbeat is stale;
//! GET/HEAD /readyz -> 200 {"status":"ready"} after set_ready(true), else 503
//! {"status":"not ready","reason":...}; other paths 404; other methods 405.
class HealthServer {
 public:
  //! Runs on its own io_context and thread.
  explicit HealthServer(HealthServerOptions options);
  //! Runs on `io`, which the caller runs (the daemon's Asio thread). In this form stop()
  //! and the destructor must be called on that thread or while `io` is not running, and
  //! `io` must outlive this object's pending handlers (they hold shared state, not `this`).
  HealthServer(boost::asio::io_context& io, HealthServerOptions options);
  ~HealthServer();

  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  //! Readiness: true once models are loaded and sources listen or have partitions
  //! assigned. `reason` says why not, and is shown in the 503 body.
  void set_ready(bool ready, std::string reason = {});
  bool ready() const;

  //! Called by the loop whose progress liveness should reflect (see liveness_timeout).
  void heartbeat();

  //! The bound port (the kernel's choice when options.port was 0).
  uint16_t port() const;
  //! The bound address as text, for logs: `127.0.0.1:9465`.
  std::string endpoint() const;

  //! Stops accepting and closes the listener; idempotent. Open connections finish their
  //! current exchange or time out. Called by the owner (one thread), not concurrently with
  //! itself or the destructor.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mscred::daemon
