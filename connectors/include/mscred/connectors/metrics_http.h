#pragma once
// The /metrics HTTP endpoint, on Boost.Asio.
//
// prometheus-cpp's own Exposer (civetweb) fails to start in a process that also loads
// Debian's libtorch_cpu ("null context when constructing CivetServer"), which mscredd
// does when it serves real models; this small server has no such conflict.

#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace mscred::connectors {

//! Owns a listening socket, an io_context and its one thread; answers GET/HEAD /metrics
//! with the registry in Prometheus text format (404 elsewhere), one request per
//! connection, 5 s I/O deadline. Binds in the constructor (throws std::runtime_error
//! naming the address on failure); the destructor stops and joins. Thread-safe: the
//! registry is collected on the server thread.
class MetricsHttpServer {
 public:
  //! `listen` is host:port ("127.0.0.1:9464", "[::1]:0"); port 0 = ephemeral.
  MetricsHttpServer(const std::string& listen, std::shared_ptr<prometheus::Registry> registry);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace mscred::connectors
