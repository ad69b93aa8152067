#pragma once
// TCP ingest: newline-delimited JSON records and CSV lines from many clients.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "mscred/connectors/source.h"

namespace mscred::connectors {

struct TcpSourceOptions {
  std::string name = "tcp";
  std::string bind = "127.0.0.1";  // loopback unless the operator opens it up
  uint16_t port = 7878;            // 0 = ephemeral (tests); see TcpSource::port()
  enum class Format { kAuto, kJson, kCsv } format = Format::kAuto;
  size_t max_line_bytes = 1 << 16;
  size_t max_connections = 256;
  //! Write "error line N: reason: detail" back to the client for each rejected line.
  bool reply_errors = true;
  //! A connection that sends nothing for this long is closed (reason timeout); 0 = never.
  double idle_timeout_s = 300.0;
  //! A line must be complete this long after its first byte (also the TLS handshake and
  //! the AUTH line, counted from the connection), or the connection is closed (reason
  //! timeout): a client trickling a byte a second cannot hold a slot. 0 = no bound.
  double line_timeout_s = 60.0;
  //! Non-empty: the first line of every connection must be `AUTH <token>`; otherwise the
  //! connection is answered "error line 1: auth_failed" and closed (reason auth_failed).
  std::string auth_token;
  //! TLS (Boost.Asio SSL, TLS 1.2 or newer) when cert_file is set: PEM certificate chain
  //! and private key; ca_file (PEM) with verify_client = true requires and checks a
  //! client certificate signed by that CA. Loaded by start(), which throws on a bad file.
  struct Tls {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;
    bool verify_client = false;
  } tls;
};

//! Owns an Asio io_context and its one thread, the acceptor and the connections. Each
//! connection splits its byte stream into lines, parses them and pushes records to the
//! consumer. A bad line is counted, logged with its line number (rate-limited) and
//! answered on the socket; the connection and its other lines go on. When the consumer's
//! queue is full, push() blocks the io thread, which stops reading from every client (TCP
//! flow control then slows the senders). Limits per connection: max_line_bytes,
//! idle_timeout_s and line_timeout_s (checked by one sweep timer on the io thread); beyond
//! max_connections new connections are closed at once. Refused and closed connections are
//! counted through RecordConsumer::rejected with the connection-level reasons.
//! start()/stop() from the owner's thread.
class TcpSource : public Source {
 public:
  TcpSource(TcpSourceOptions options, RecordConsumer& consumer);
  ~TcpSource() override;
  void start() override;
  void stop() override;
  const char* name() const override { return options_.name.c_str(); }
  //! Bound port (after start()).
  uint16_t port() const { return port_.load(); }
  uint64_t connections_accepted() const { return accepted_.load(); }

  struct Impl;

 private:
  TcpSourceOptions options_;
  RecordConsumer& consumer_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<uint16_t> port_{0};
  std::atomic<uint64_t> accepted_{0};
};

}  // namespace mscred::connectors
